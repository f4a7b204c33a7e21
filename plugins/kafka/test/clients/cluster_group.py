"""A confluent_kafka (librdkafka) group member for the cluster group tests: one subcommand per run.

Usage: cluster_group.py COMMAND BOOTSTRAP < JSON_ARGS
Prints one JSON document on stdout; diagnostics go to stderr. Every command is bounded by
args["timeout_s"].

  consume    {"topic", "group", "max_records", "ends", "timeout_s"}: subscribes in the group
             (enable.auto.commit=false), consumes in batches and commits each batch's offsets
             synchronously before asking for more, until it has max_records records (null: no
             limit) or every partition's position (its committed offset until a record comes)
             reached args.ends[partition]; then closes.
             Returns {"records": [[partition, offset, value], ...], "committed": {p: offset},
             "commit_retries": n}.
  committed  {"topic", "group", "partitions", "timeout_s"}: the group's committed offsets
             (OffsetFetch, through Consumer.committed; -1001 when none), {p: offset}.
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

BATCH_MAX = 25
# Errors a synchronous commit may meet while the group's coordinator moves: retried.
COMMIT_RETRIABLE = {
    KafkaError._WAIT_COORD, KafkaError._TRANSPORT, KafkaError._TIMED_OUT, KafkaError.REQUEST_TIMED_OUT,
    KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_NOT_AVAILABLE, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError._ALL_BROKERS_DOWN, KafkaError.NETWORK_EXCEPTION,
}


def log(message):
    sys.stderr.write(f"{time.strftime('%H:%M:%S')} {message}\n")
    sys.stderr.flush()


def consume(bootstrap, args):
    topic, group = args["topic"], args["group"]
    max_records = args.get("max_records")
    ends = {int(p): e for p, e in (args.get("ends") or {}).items()}
    deadline = time.monotonic() + args.get("timeout_s", 60)
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
        "auto.offset.reset": "earliest", "enable.partition.eof": False,
        "topic.metadata.refresh.interval.ms": 1000, "session.timeout.ms": 10000,
    })
    records = []
    positions = {}
    committed = {}
    retries = 0
    try:
        consumer.subscribe([topic], on_assign=lambda _c, ps: log(f"assigned {sorted(p.partition for p in ps)}"))

        def done():
            if max_records is not None and len(records) >= max_records:
                return True
            return bool(ends) and all(positions.get(p, -1) >= e for p, e in ends.items())

        seeded = False
        while not done():
            if not seeded and ends and consumer.assignment():
                # A partition with nothing left after its committed offset yields no record:
                # its position starts at the committed offset.
                for tp in consumer.committed(consumer.assignment(), timeout=10):
                    if tp.error is None and tp.offset >= 0:
                        positions.setdefault(tp.partition, tp.offset)
                seeded = True
            if time.monotonic() > deadline:
                raise TimeoutError(f"consumed {len(records)} records, positions {positions}, ends {ends}")
            want = BATCH_MAX if max_records is None else min(BATCH_MAX, max_records - len(records))
            batch = consumer.consume(num_messages=want, timeout=0.5)
            offsets = {}
            for msg in batch:
                if msg.error() is not None:
                    log(f"consume error: {msg.error()}")
                    continue
                records.append([msg.partition(), msg.offset(), msg.value().decode()])
                offsets[msg.partition()] = msg.offset() + 1
            if not offsets:
                continue
            positions.update(offsets)
            tps = [TopicPartition(topic, p, o) for p, o in sorted(offsets.items())]
            while True:
                try:
                    for tp in consumer.commit(offsets=tps, asynchronous=False):
                        if tp.error is not None:
                            raise KafkaException(tp.error)
                        committed[tp.partition] = tp.offset
                    break
                except KafkaException as e:
                    code = e.args[0].code()
                    if code not in COMMIT_RETRIABLE or time.monotonic() > deadline:
                        raise
                    retries += 1
                    log(f"commit retried: {e}")
                    time.sleep(0.2)
        return {"records": records, "committed": {str(p): o for p, o in committed.items()}, "commit_retries": retries}
    finally:
        consumer.close()


def committed(bootstrap, args):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": args["group"], "enable.auto.commit": False})
    try:
        tps = [TopicPartition(args["topic"], p) for p in args["partitions"]]
        answer = consumer.committed(tps, timeout=args.get("timeout_s", 30))
        for tp in answer:
            if tp.error is not None:
                raise KafkaException(tp.error)
        return {str(tp.partition): tp.offset for tp in answer}
    finally:
        consumer.close()


COMMANDS = {"consume": consume, "committed": committed}


def main():
    command, bootstrap = sys.argv[1], sys.argv[2]
    args = json.loads(sys.stdin.read() or "{}")
    json.dump(COMMANDS[command](bootstrap, args), sys.stdout)


if __name__ == "__main__":
    main()
