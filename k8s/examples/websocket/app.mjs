// Example websocket consumer (Node.js 22: global WebSocket). Each message is one batch:
//   {"type":"batch","id":"..","stream":"..","shard_id":"..","records":[{data (base64), ...}]}
// answered {"type":"ack","id":".."} or {"type":"nack","id":"..","reason":".."}. A batch not
// answered within ack_timeout, or held when the socket closes, is delivered again.
const url = process.env.KINESIS_WS_URL ?? 'ws://127.0.0.1:4196/records';

function connect() {
  const ws = new WebSocket(url);
  ws.onmessage = (msg) => {
    let batch;
    try {
      batch = JSON.parse(msg.data);
    } catch {
      return;
    }
    if (batch.type !== 'batch') return;
    try {
      for (const record of batch.records ?? []) {
        const data = Buffer.from(record.data ?? '', 'base64').toString('utf8');
        console.log(JSON.stringify({ shard: batch.shard_id, seq: record.sequence_number, data }));
      }
      ws.send(JSON.stringify({ type: 'ack', id: batch.id }));
    } catch (err) {
      // Not processed: the sidecar delivers the batch again.
      ws.send(JSON.stringify({ type: 'nack', id: batch.id, reason: String(err) }));
    }
  };
  ws.onclose = () => setTimeout(connect, 1000);
  ws.onerror = () => {};
}
connect();
