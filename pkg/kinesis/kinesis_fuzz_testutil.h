/* Checks the kinesis fuzz targets share (pkg/kinesis/kinesis_*_fuzz.c), implemented in
 * kinesis_fuzz_testutil.c (built into the fuzz library and the unit tests only). */
#ifndef KS_KINESIS_FUZZ_TESTUTIL_H
#define KS_KINESIS_FUZZ_TESTUTIL_H

/* Encodes the GetRecords request for iterator (with limit) and aborts unless it is JSON
 * holding that same iterator: an iterator taken from an answer must round-trip. */
void ks_fuzz_check_get_records_request(const char *iterator, int limit);

#endif
