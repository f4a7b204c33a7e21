"""
A confluent_kafka (librdkafka) consumer in a group, driven by the integration tests.

    group_consumer.py BOOTSTRAP   with {"topic", "group", "config"} as JSON on the first stdin line

It prints one JSON object per line on stdout, as things happen:
  {"event": "assigned", "partitions": [..]}   {"event": "revoked", "partitions": [..]}
  {"event": "record", "partition": p, "offset": o, "value": "..."}
  {"event": "error", "error": "..."}          {"event": "closed"}
and closes (committing its offsets and leaving the group, as librdkafka's close does)
when a line "close" arrives on stdin, or when stdin ends.
"""
import json
import sys
import threading

from confluent_kafka import Consumer, KafkaError, KafkaException


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    bootstrap = sys.argv[1]
    args = json.loads(sys.stdin.readline())
    stop = threading.Event()

    def watch_stdin():
        for line in sys.stdin:
            if line.strip() == "close":
                break
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    conf = {"bootstrap.servers": bootstrap, "group.id": args["group"], "auto.offset.reset": "earliest"}
    conf.update(args.get("config", {}))
    consumer = Consumer(conf)

    def on_assign(_consumer, partitions):
        emit({"event": "assigned", "partitions": sorted(p.partition for p in partitions)})

    def on_revoke(_consumer, partitions):
        emit({"event": "revoked", "partitions": sorted(p.partition for p in partitions)})

    consumer.subscribe([args["topic"]], on_assign=on_assign, on_revoke=on_revoke)
    while not stop.is_set():
        msg = consumer.poll(0.1)
        if msg is None:
            continue
        if msg.error():
            emit({"event": "error", "error": str(msg.error())})
            continue
        value = msg.value().decode("utf-8") if msg.value() is not None else None
        emit({"event": "record", "partition": msg.partition(), "offset": msg.offset(), "value": value})
    # Commit what was consumed before leaving, synchronously, so a test never depends on
    # whether close()'s own commit won a race with a rebalance; retried on retriable errors.
    for _ in range(5):
        try:
            consumer.commit(asynchronous=False)
            break
        except KafkaException as e:
            if e.args[0].code() == KafkaError._NO_OFFSET:
                break
            emit({"event": "error", "error": "commit: " + str(e)})
    consumer.close()
    emit({"event": "closed"})


if __name__ == "__main__":
    main()
