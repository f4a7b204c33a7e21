#!/usr/bin/python3
"""End-to-end latency at a fixed produce rate, producer and consumer on one host clock.

  latency.py consume --bootstrap H:P --topic T --messages N [--partitions P] [--warmup W]
  latency.py produce --bootstrap H:P --topic T --messages N --rate R [--size S] [--acks all]

The consumer creates the topic, assigns every partition from offset 0 (no group join
to wait for), prints "ready" on stderr, and waits for N records. The
producer sends at R msgs/s, each value carrying its sequence number and the
CLOCK_MONOTONIC time just before produce(); that clock is shared by all processes on the
host, so receive - send needs no clock sync. The first W records are left out of the
percentiles: in trials the consumer's first fetches started up to 0.5 s after assign(),
so the first second measured a backlog being drained, not the broker.

Producer: linger.ms=0, so librdkafka sends what is queued at once instead of holding
records up to the default 5 ms, and max.in.flight 5 (see below), so records that queue up
behind the requests in flight are batched. Consumer: poll() per record, because
consume(n) waits for a full batch.
"""
import argparse
import math
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

HEADER = 16


def percentile(sorted_values, p):
    """Nearest rank, as bench/src/stats.ts."""
    n = len(sorted_values)
    if n == 0:
        return float("nan")
    return sorted_values[min(n - 1, max(0, math.ceil(p * n) - 1))]


def consume(a):
    admin = AdminClient({"bootstrap.servers": a.bootstrap})
    futs = admin.create_topics([NewTopic(a.topic, num_partitions=a.partitions, replication_factor=1)])
    futs[a.topic].result(timeout=10)
    c = Consumer({
        "bootstrap.servers": a.bootstrap,
        "group.id": "sluice-bench-latency",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": False,
        "fetch.wait.max.ms": 100,
    })
    c.assign([TopicPartition(a.topic, p, 0) for p in range(a.partitions)])
    # One poll so the fetcher is connected before the producer starts.
    c.poll(0.5)
    sys.stderr.write("ready\n")
    sys.stderr.flush()
    lat_us = []
    got = 0
    deadline = time.monotonic() + a.timeout
    clock = time.monotonic_ns
    while got < a.messages and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is None:
            continue
        now = clock()
        if m.error() is not None:
            sys.stderr.write("consume error: %s\n" % m.error().str())
            continue
        v = m.value()
        got += 1
        if got > a.warmup:
            lat_us.append((now - int.from_bytes(v[8:16], "big")) / 1000.0)
    c.close()
    lat_us.sort()
    n = len(lat_us)
    print("latency_records %d" % n)
    print("latency_p50_us %.0f" % percentile(lat_us, 0.50))
    print("latency_p99_us %.0f" % percentile(lat_us, 0.99))
    print("latency_p999_us %.0f" % percentile(lat_us, 0.999))
    print("latency_max_us %.0f" % (lat_us[-1] if n else float("nan")))
    print("latency_lost %d" % (a.messages - got))
    sys.stdout.flush()
    return 0 if got == a.messages else 1


def produce(a):
    p = Producer({
        "bootstrap.servers": a.bootstrap,
        "acks": a.acks,
        "linger.ms": 0,
        # The Java client's default. librdkafka's own (1,000,000) keeps sending one- or
        # two-record requests however far behind the broker is; with 5 in flight the
        # records that queue up behind them leave in the next request instead.
        "max.in.flight.requests.per.connection": 5,
        "compression.type": "none",
    })
    errors = [0]
    ack_us = []
    clock_ns = time.monotonic_ns

    def dr(err, msg):
        if err is not None:
            errors[0] += 1
            return
        ack_us.append((clock_ns() - int.from_bytes(msg.value()[8:16], "big")) / 1000.0)

    # Metadata and the connection first: records stamped while the client still looks up
    # the topic's leader would measure the start-up, not the broker.
    p.list_topics(a.topic, timeout=10)
    pad = b"x" * (a.size - HEADER)
    interval = 1.0 / a.rate
    clock = time.monotonic
    t0 = clock()
    deadline = t0 + a.messages * interval * 2 + 10
    seq = 0
    while seq < a.messages:
        now = clock()
        if now > deadline:
            break
        due = min(a.messages, int((now - t0) / interval) + 1)
        while seq < due:
            p.produce(a.topic, seq.to_bytes(8, "big") + time.monotonic_ns().to_bytes(8, "big") + pad, on_delivery=dr)
            seq += 1
        p.poll(0)
        wait = t0 + seq * interval - clock()
        if wait > 0:
            time.sleep(wait)
    secs = clock() - t0
    left = p.flush(10)
    print("latency_produce_msgs_per_s %.0f" % (seq / secs))
    acks = sorted(ack_us[a.warmup:])
    if acks:
        print("latency_ack_p50_us %.0f" % percentile(acks, 0.50))
        print("latency_ack_p99_us %.0f" % percentile(acks, 0.99))
    print("latency_produce_errors %d" % (errors[0] + left + a.messages - seq))
    sys.stdout.flush()
    return 0 if errors[0] == 0 and left == 0 and seq == a.messages else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["consume", "produce"])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--messages", type=int, required=True)
    ap.add_argument("--partitions", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=20000)
    ap.add_argument("--rate", type=float, default=10000)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--acks", default="all")
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    return consume(a) if a.role == "consume" else produce(a)


if __name__ == "__main__":
    sys.exit(main())
