"""kafka-python driven by the integration tests: one subcommand per run.

Usage: kafka_python.py COMMAND BOOTSTRAP < JSON_ARGS
Prints one JSON document on stdout. Bounded by args["timeout_s"]. The consumer assigns
partitions and seeks (no group.id: groups are not served yet).
"""
import json
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition


def produce(bootstrap, args):
    """args.messages: [{value, key?, partition?, timestamp?}] -> [{partition, offset}] in order."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks=args.get("acks", "all"), client_id="sluice-it-kafka-python",
        compression_type=args.get("compression"), linger_ms=args.get("linger_ms", 0),
        max_request_size=args.get("max_request_size", 1048576))
    try:
        futures = []
        for m in args["messages"]:
            futures.append(producer.send(
                args["topic"], value=m["value"].encode(),
                key=None if m.get("key") is None else m["key"].encode(),
                partition=m.get("partition"), timestamp_ms=m.get("timestamp"),
                headers=[(k, v.encode()) for k, v in m.get("headers", {}).items()]))
        producer.flush(timeout=args.get("timeout_s", 30))
        out = []
        for f in futures:
            try:
                md = f.get(timeout=1)
                out.append({"partition": md.partition, "offset": md.offset, "error": None})
            except Exception as e:  # the test compares error classes by name
                out.append({"partition": None, "offset": None, "error": type(e).__name__})
        return out
    finally:
        producer.close(timeout=5)


def consume(bootstrap, args):
    """Reads args.partitions from args.offset (default 0) to the end offsets seen at the start."""
    topic = args["topic"]
    deadline = time.monotonic() + args.get("timeout_s", 30)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             client_id="sluice-it-kafka-python")
    try:
        tps = [TopicPartition(topic, p) for p in args["partitions"]]
        consumer.assign(tps)
        ends = consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, args.get("offset", 0))
        out = {str(tp.partition): [] for tp in tps}
        pending = {tp for tp in tps if ends[tp] > args.get("offset", 0)}
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"not read to the end: {sorted(tp.partition for tp in pending)}")
            for tp, records in consumer.poll(timeout_ms=200).items():
                for r in records:
                    out[str(tp.partition)].append({
                        "offset": r.offset, "key": None if r.key is None else r.key.decode(),
                        "value": r.value.decode(), "timestamp": r.timestamp,
                        "headers": {k: v.decode() for k, v in r.headers},
                    })
                    if r.offset + 1 >= ends[tp]:
                        pending.discard(tp)
        return {"ends": {str(tp.partition): e for tp, e in ends.items()}, "records": out}
    finally:
        consumer.close()


COMMANDS = {"produce": produce, "consume": consume}

if __name__ == "__main__":
    command, bootstrap, raw = sys.argv[1], sys.argv[2], sys.stdin.read()
    json.dump(COMMANDS[command](bootstrap, json.loads(raw)), sys.stdout)
    sys.stdout.write("\n")
