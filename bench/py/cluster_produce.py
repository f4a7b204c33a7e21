#!/usr/bin/python3
"""acks=all producers for bench:cluster, one librdkafka producer each.

  cluster_produce.py throughput --bootstrap H:P,.. --topic T --messages N [--size S]
  cluster_produce.py steady --bootstrap H:P,.. --topic T [--rate R] [--size S]
  cluster_produce.py partition --bootstrap H:P,.. --topic T

throughput: N records of S bytes to partition 0 with acks=all and idempotence, then flush.
Prints "msgs_per_s", "mib_per_s" for the span from the first produce() to the last ack, and
"p50_ms", "p99_ms": per record, delivery report minus produce() (queueing in the client
included: the producer sends as fast as it can, so this is latency under full load).

steady: R records/s of S bytes to partition 0 with acks=all and idempotence until stdin is
closed; per delivery prints "ack PRODUCED_NS ACKED_NS" or "fail PRODUCED_NS ERROR", both
CLOCK_MONOTONIC nanoseconds (the clock Node's process.hrtime reads, so the caller can
compare them with the moment it killed a node); "done" at the end. message.timeout.ms is
long so that a failover shows as a late ack, not as lost records.

partition: partition 0's leader and in-sync replicas as the bootstrap broker's metadata
says: "leader N" and "isr A,B,C".
"""
import argparse
import math
import sys
import threading
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient


def percentile(sorted_values, p):
    """Nearest rank, as bench/src/stats.ts."""
    n = len(sorted_values)
    if n == 0:
        return float("nan")
    return sorted_values[min(n - 1, max(0, math.ceil(p * n) - 1))]


def produce_blocking(producer, topic, value, on_delivery):
    while True:
        try:
            producer.produce(topic, value=value, partition=0, on_delivery=on_delivery)
            return
        except BufferError:
            producer.poll(0.01)


def throughput(a):
    producer = Producer({"bootstrap.servers": a.bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    value = b"x" * a.size
    latencies_ms = []
    clock = time.monotonic_ns

    def reporter(sent_ns):
        def on_delivery(err, _msg):
            if err is not None:
                sys.exit(f"delivery failed: {err.name()}")
            latencies_ms.append((clock() - sent_ns) / 1e6)
        return on_delivery

    # Metadata and the producer id first, so that start-up is not counted.
    produce_blocking(producer, a.topic, value, None)
    if producer.flush(60) != 0:
        sys.exit("warm-up record left unflushed")
    start = time.monotonic()
    for _ in range(a.messages):
        produce_blocking(producer, a.topic, value, reporter(clock()))
        producer.poll(0)
    if producer.flush(300) != 0:
        sys.exit("records left unflushed")
    elapsed = time.monotonic() - start
    latencies_ms.sort()
    print(f"msgs_per_s {a.messages / elapsed:.0f}")
    print(f"mib_per_s {a.messages * a.size / elapsed / 1048576:.2f}")
    print(f"p50_ms {percentile(latencies_ms, 0.50):.2f}")
    print(f"p99_ms {percentile(latencies_ms, 0.99):.2f}")


def steady(a):
    stop = threading.Event()

    def wait_for_eof():
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    producer = Producer({
        "bootstrap.servers": a.bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 0,
        "message.timeout.ms": 300000, "retry.backoff.ms": 50,
        "topic.metadata.refresh.interval.ms": 1000,
        # A killed node is the point of the run: its connection errors are expected, not news.
        "log_level": 2,
    })
    value = b"x" * a.size
    clock = time.monotonic_ns

    def reporter(sent_ns):
        def on_delivery(err, _msg):
            if err is None:
                sys.stdout.write(f"ack {sent_ns} {clock()}\n")
            else:
                sys.stdout.write(f"fail {sent_ns} {err.name()}\n")
            sys.stdout.flush()
        return on_delivery

    interval_s = 1.0 / a.rate
    next_at = time.monotonic()
    while not stop.is_set():
        produce_blocking(producer, a.topic, value, reporter(clock()))
        next_at += interval_s
        # Delivery reports are served while waiting for the next send, so their times are late by at most a poll.
        while True:
            left = next_at - time.monotonic()
            if left <= 0:
                break
            producer.poll(min(left, 0.001))
    producer.flush(60)
    print("done", flush=True)


def partition(a):
    admin = AdminClient({"bootstrap.servers": a.bootstrap})
    meta = admin.list_topics(a.topic, timeout=10)
    p = meta.topics[a.topic].partitions[0]
    print(f"leader {p.leader}")
    print(f"isr {','.join(str(i) for i in sorted(p.isrs))}")


parser = argparse.ArgumentParser()
parser.add_argument("command", choices=["throughput", "steady", "partition"])
parser.add_argument("--bootstrap", required=True)
parser.add_argument("--topic", required=True)
parser.add_argument("--messages", type=int, default=50000)
parser.add_argument("--size", type=int, default=1024)
parser.add_argument("--rate", type=int, default=200)
args = parser.parse_args()
{"throughput": throughput, "steady": steady, "partition": partition}[args.command](args)
