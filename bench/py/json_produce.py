#!/usr/bin/python3
"""Produces JSON records that carry personal data, for the interceptor bench.

  json_produce.py --bootstrap H:P --topic T --messages N [--size S] [--acks 1|all]
                  [--linger-ms L] [--batch-bytes B] [--check-mask]

Every value is a JSON object of exactly --size bytes (default 1024) with `email` and
`ssn` keys at the top level and nested one level down (what pii-redactor.fields=email,ssn
masks), a few other fields, and a `notes` string padding it to size. 256 distinct values
are built before timing and cycled, so the timed loop is only produce() calls.

Steps: create the topic (1 partition) with the admin client; produce one untimed record
and flush it, so the connection and metadata are up before timing; print "# start" on
stderr; produce N records to partition 0 (linger.ms, batch.size, no compression, not
idempotent); flush; print "# done" on stderr. The bench samples the broker's and this
process's CPU at those two lines. Then, untimed: the partition's high watermark must be
N + 1 (every record appended; no delivery callback is set, because a Python call per
record would slow the client, which shares the machine's two cores with the broker);
librdkafka's statistics give the number of Produce requests sent; with --check-mask the
first record is read back and its emails checked; the topic is deleted, so a long run
neither fills the disk nor leaves dirty pages whose writeback would land in later runs.

Prints "name value" lines: produce_msgs_per_s, produce_mib_per_s (bytes produced, before
any redaction), produce_seconds, produce_client_cpu_s, produce_appended (high watermark
minus the warm-up record), produce_requests (Produce requests, the warm-up's excluded),
and with --check-mask stored_value_masked 1|0. Exit status 1 when fewer than N records
were appended.
"""
import argparse
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

DISTINCT = 256


def make_value(i, size):
    """A JSON object of exactly `size` bytes with PII at two depths."""
    obj = {
        "id": i,
        "event": "order.placed",
        "user": {
            "name": "Customer %d" % i,
            "email": "customer%d@example.com" % i,
            "ssn": "%03d-%02d-%04d" % (100 + i % 800, 10 + i % 89, 1000 + i),
            "address": {"city": "Lisbon", "postcode": "%04d-%03d" % (1000 + i, i % 1000)},
        },
        "email": "orders+%d@example.com" % i,
        "ssn": "%03d-%02d-%04d" % (200 + i % 700, 20 + i % 79, 2000 + i),
        "items": [{"sku": "SKU-%05d" % (i * 7 + k), "qty": 1 + k, "price": 9.99 + k} for k in range(3)],
        "notes": "",
    }
    base = len(json.dumps(obj, separators=(",", ":")).encode())
    if base > size:
        raise SystemExit("--size %d is below the %d bytes of the JSON skeleton" % (size, base))
    obj["notes"] = "x" * (size - base)
    value = json.dumps(obj, separators=(",", ":")).encode()
    assert len(value) == size
    return value


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--messages", type=int, required=True)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--acks", choices=["1", "all"], default="1")
    ap.add_argument("--linger-ms", type=int, default=5)
    ap.add_argument("--batch-bytes", type=int, default=1000000)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--check-mask", action="store_true")
    a = ap.parse_args()

    values = [make_value(i, a.size) for i in range(DISTINCT)]

    admin = AdminClient({"bootstrap.servers": a.bootstrap})
    for f in admin.create_topics([NewTopic(a.topic, num_partitions=1, replication_factor=1)]).values():
        f.result(30)

    stats = []
    p = Producer({
        "bootstrap.servers": a.bootstrap,
        # Only kept as a string here and parsed once at the end: cheap in the timed loop.
        "statistics.interval.ms": 100,
        "stats_cb": stats.append,
        "acks": a.acks,
        "linger.ms": a.linger_ms,
        "batch.size": a.batch_bytes,
        "compression.type": "none",
    })
    p.produce(a.topic, value=values[0], partition=0)
    if p.flush(30) != 0:
        raise SystemExit("warm-up record not delivered")

    topic = a.topic
    produce = p.produce
    poll = p.poll
    n = a.messages
    sys.stderr.write("# start\n")
    sys.stderr.flush()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for i in range(n):
        v = values[i & (DISTINCT - 1)]
        while True:
            try:
                produce(topic, value=v, partition=0)
                break
            except BufferError:
                poll(0.005)
    left = p.flush(a.timeout)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    sys.stderr.write("# done\n")
    sys.stderr.flush()
    if left != 0:
        sys.stderr.write("%d records not delivered within %.0f s\n" % (left, a.timeout))

    # Statistics emitted after the flush carry the final request count.
    seen = len(stats)
    deadline = time.monotonic() + 1.0
    while len(stats) < seen + 2 and time.monotonic() < deadline:
        p.poll(0.05)
    requests = -1
    if stats:
        for b in json.loads(stats[-1])["brokers"].values():
            if b.get("nodeid", -1) >= 0:
                requests = b["req"]["Produce"] - 1

    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": "sluice-bench-check", "enable.auto.commit": False})
    _, high = c.get_watermark_offsets(TopicPartition(a.topic, 0), timeout=10)
    appended = high - 1
    print("produce_msgs_per_s %.1f" % (n / elapsed))
    print("produce_mib_per_s %.3f" % (n * a.size / elapsed / 1048576))
    print("produce_seconds %.4f" % elapsed)
    print("produce_client_cpu_s %.4f" % cpu)
    print("produce_appended %d" % appended)
    print("produce_requests %d" % requests)
    if a.check_mask:
        c.assign([TopicPartition(a.topic, 0, 0)])
        masked = 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None or m.error() is not None:
                continue
            stored = json.loads(m.value())
            masked = int(stored["email"] == "***" and stored["user"]["email"] == "***" and stored["ssn"] == "***")
            break
        print("stored_value_masked %d" % masked)
    c.close()
    for f in admin.delete_topics([a.topic]).values():
        f.result(30)
    sys.exit(0 if appended == n and left == 0 else 1)


if __name__ == "__main__":
    main()
