"""confluent_kafka (librdkafka) driven by the integration tests: one subcommand per run.

Usage: confluent.py COMMAND BOOTSTRAP < JSON_ARGS
Prints one JSON document on stdout; diagnostics go to stderr. Every command is bounded by
args["timeout_s"] so a broker that stops answering fails the test instead of hanging it.
Consumers never subscribe (groups are not served yet): they assign partitions at explicit
offsets, with a group.id only because the Python binding refuses a consumer without one.
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition


def producer_config(bootstrap, extra):
    config = {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5}
    config.update(extra or {})
    return config


def produce_seq(bootstrap, args):
    """count messages round-robin over partitions; value "p:seq" with seq counted per partition."""
    topic, partitions, count = args["topic"], args["partitions"], args["count"]
    deadline = time.monotonic() + args.get("timeout_s", 60)
    producer = Producer(producer_config(bootstrap, {"enable.idempotence": True, **args.get("config", {})}))
    acked = 0
    errors = []

    def on_delivery(err, msg):
        nonlocal acked
        if err is not None:
            errors.append(f"{msg.partition()}: {err.name()} {err.str()}")
        else:
            acked += 1

    seqs = [0] * partitions
    for i in range(count):
        p = i % partitions
        value = f"{p}:{seqs[p]}"
        seqs[p] += 1
        while True:
            try:
                producer.produce(topic, value=value.encode(), key=str(p).encode(), partition=p, on_delivery=on_delivery)
                break
            except BufferError:
                # The local queue is full: serve delivery reports until there is room.
                producer.poll(0.05)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"queue still full after {i} messages")
        producer.poll(0)
    remaining = producer.flush(max(0.1, deadline - time.monotonic()))
    return {"acked": acked, "errors": errors[:20], "error_count": len(errors), "unflushed": remaining}


def produce_stream(bootstrap, args):
    """Produces "p:seq" values round-robin until the first delivery error, args.max_count
    messages or args.timeout_s, printing each acknowledgement as it arrives ("ack P OFFSET
    VALUE", flushed at once) so that a test can kill the broker mid-stream and later check
    that every acknowledged message survived. Returns counts; the acks are on stdout above it."""
    topic, partitions = args["topic"], args["partitions"]
    deadline = time.monotonic() + args.get("timeout_s", 20)
    producer = Producer(producer_config(bootstrap, {
        "enable.idempotence": True, "message.timeout.ms": args.get("message_timeout_ms", 5000), **args.get("config", {}),
    }))
    state = {"acked": 0, "failed": 0}

    def on_delivery(err, msg):
        if err is not None:
            state["failed"] += 1
            return
        state["acked"] += 1
        sys.stdout.write(f"ack {msg.partition()} {msg.offset()} {msg.value().decode()}\n")

    seqs = [0] * partitions
    sent = 0
    while sent < args["max_count"] and state["failed"] == 0 and time.monotonic() < deadline:
        p = sent % partitions
        try:
            producer.produce(topic, value=f"{p}:{seqs[p]}".encode(), partition=p, on_delivery=on_delivery)
        except BufferError:
            producer.poll(0.05)
            continue
        seqs[p] += 1
        sent += 1
        producer.poll(0)
        sys.stdout.flush()
    remaining = producer.flush(max(0.1, deadline - time.monotonic()))
    sys.stdout.flush()
    return {"sent": sent, "acked": state["acked"], "failed": state["failed"], "unflushed": remaining}


def produce(bootstrap, args):
    """args.messages: [{value, key?, partition?, timestamp?}]; reports each delivery in order."""
    topic = args["topic"]
    deadline = time.monotonic() + args.get("timeout_s", 30)
    producer = Producer(producer_config(bootstrap, args.get("config")))
    reports = [None] * len(args["messages"])

    def reporter(i):
        def on_delivery(err, msg):
            reports[i] = {
                "error": None if err is None else err.code(),
                "error_name": None if err is None else err.name(),
                "partition": msg.partition(),
                "offset": msg.offset(),
            }
        return on_delivery

    for i, m in enumerate(args["messages"]):
        kwargs = {"value": m["value"].encode(), "on_delivery": reporter(i)}
        if m.get("key") is not None:
            kwargs["key"] = m["key"].encode()
        if m.get("partition") is not None:
            kwargs["partition"] = m["partition"]
        if m.get("timestamp") is not None:
            kwargs["timestamp"] = m["timestamp"]
        producer.produce(topic, **kwargs)
        producer.poll(0)
    remaining = producer.flush(max(0.1, deadline - time.monotonic()))
    return {"reports": reports, "unflushed": remaining}


def consume(bootstrap, args):
    """Reads args.partitions of args.topic from args.offset (default 0) up to the high watermark
    seen at the start; returns {partition: [[offset, value, timestamp_ms], ...]}."""
    topic = args["topic"]
    deadline = time.monotonic() + args.get("timeout_s", 60)
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": "sluice-it-unused", "enable.auto.commit": False,
        "enable.partition.eof": False, **args.get("config", {}),
    })
    try:
        ends = {}
        for p in args["partitions"]:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            ends[p] = high
        start = args.get("offset", 0)
        out = {str(p): [] for p in args["partitions"]}
        pending = {p for p in args["partitions"] if ends[p] > start}
        consumer.assign([TopicPartition(topic, p, start) for p in args["partitions"]])
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"partitions {sorted(pending)} not read to their end; ends {ends}, read "
                                   + json.dumps({p: len(v) for p, v in out.items()}))
            for msg in consumer.consume(num_messages=10000, timeout=0.5):
                if msg.error() is not None:
                    raise KafkaException(msg.error())
                p = msg.partition()
                out[str(p)].append([msg.offset(), msg.value().decode(), msg.timestamp()[1]])
                if msg.offset() + 1 >= ends[p]:
                    pending.discard(p)
        return {"ends": {str(p): e for p, e in ends.items()}, "records": out}
    finally:
        consumer.close()


def offsets_for_times(bootstrap, args):
    """args.queries: [{partition, timestamp}] -> [{partition, offset}] (offset -1: none at or after)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "sluice-it-unused", "enable.auto.commit": False})
    try:
        found = consumer.offsets_for_times(
            [TopicPartition(args["topic"], q["partition"], q["timestamp"]) for q in args["queries"]],
            timeout=args.get("timeout_s", 10))
        return [{"partition": tp.partition, "offset": tp.offset, "error": None if tp.error is None else tp.error.code()}
                for tp in found]
    finally:
        consumer.close()


def list_topics(bootstrap, args):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "sluice-it-unused"})
    try:
        md = consumer.list_topics(timeout=args.get("timeout_s", 10))
        return {
            "brokers": [{"id": b.id, "host": b.host, "port": b.port} for b in md.brokers.values()],
            "topics": {name: sorted(t.partitions.keys()) for name, t in md.topics.items()},
        }
    finally:
        consumer.close()


COMMANDS = {
    "produce-seq": produce_seq,
    "produce-stream": produce_stream,
    "produce": produce,
    "consume": consume,
    "offsets-for-times": offsets_for_times,
    "list-topics": list_topics,
}

if __name__ == "__main__":
    command, bootstrap, raw = sys.argv[1], sys.argv[2], sys.stdin.read()
    json.dump(COMMANDS[command](bootstrap, json.loads(raw)), sys.stdout)
    sys.stdout.write("\n")
