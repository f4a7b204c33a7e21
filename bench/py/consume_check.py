#!/usr/bin/python3
"""Reads a topic back with an assign-based consumer and checks a kafka-client-load.py run.

  consume_check.py --bootstrap H:P --topic T --messages N [--timeout S]

Assign-based, with no consumer group: it was written when the broker had none (then
kafka-client-load.py's subscribe() never got an assignment), and it keeps the figures
free of the group join (3 s of initial rebalance delay) and of the coordinator. It reads
every partition from offset 0 to the high watermark taken at the start. The topic must hold exactly one producer run: the run id is learnt from the
first record, and every record must carry it (otherwise it is counted as foreign).

Value layout (kafka-client-load.py): 8-byte run id, 8-byte big-endian sequence, padding.
Prints "name value" lines (consume_msgs_per_s, consume_mib_per_s, consume_client_cpu_pct,
consume_first_message_after_s) and "lost=.. dup=.. out_of_order=.. foreign=..
consume_errors=..". Exit 0 when every sequence 0..N-1 arrived once and in order within
its partition, 1 otherwise.
"""
import argparse
import sys
import time

from confluent_kafka import Consumer, TopicPartition

HEADER = 16


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--messages", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=60.0)
    a = ap.parse_args()

    c = Consumer({
        "bootstrap.servers": a.bootstrap,
        # Never joins: assign() below needs no coordinator, but the client wants an id.
        "group.id": "sluice-bench-assign",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": False,
    })
    md = c.list_topics(a.topic, timeout=10)
    parts = sorted(md.topics[a.topic].partitions)
    highs = {}
    for p in parts:
        _, high = c.get_watermark_offsets(TopicPartition(a.topic, p), timeout=10)
        highs[p] = high
    expect = sum(highs.values())
    c.assign([TopicPartition(a.topic, p, 0) for p in parts])
    # The bench samples the broker's CPU from here on.
    sys.stderr.write("# assigned\n")

    seen = bytearray(a.messages)
    last_seq = {}
    run_id = None
    got = uniq = dup = out_of_order = foreign = errors = 0
    nbytes = 0
    t_assign = time.perf_counter()
    cpu0 = time.process_time()
    t_first = t_last = None
    deadline = time.monotonic() + a.timeout
    while got < expect and time.monotonic() < deadline:
        # consume() returns only when the batch is full or the timeout ends: asking for no
        # more than what is left keeps the last batch from idling until the timeout.
        msgs = c.consume(num_messages=min(10000, expect - got), timeout=0.5)
        for m in msgs:
            if m.error() is not None:
                errors += 1
                if errors == 1:
                    sys.stderr.write("consume error: %s\n" % m.error().str())
                continue
            got += 1
            v = m.value()
            if v is None or len(v) < HEADER:
                foreign += 1
                continue
            if run_id is None:
                run_id = v[:8]
                t_first = time.perf_counter()
            elif v[:8] != run_id:
                foreign += 1
                continue
            seq = int.from_bytes(v[8:16], "big")
            if seq >= a.messages:
                foreign += 1
                continue
            if seen[seq]:
                dup += 1
            else:
                seen[seq] = 1
                uniq += 1
                nbytes += len(v)
            part = m.partition()
            prev = last_seq.get(part)
            if prev is not None and seq < prev:
                out_of_order += 1
            last_seq[part] = seq
        if msgs:
            t_last = time.perf_counter()
    cpu = time.process_time() - cpu0
    c.close()
    if got < expect:
        sys.stderr.write("WARNING: consume stopped at the %.0f s limit with %d/%d records\n" % (a.timeout, got, expect))
    if t_first is not None and t_last is not None and t_last > t_first:
        secs = t_last - t_first
        print("consume_msgs_per_s %.0f" % (uniq / secs))
        print("consume_mib_per_s %.1f" % (nbytes / 1048576.0 / secs))
        # From assignment on, so the fetch start-up is counted against the CPU too.
        print("consume_client_cpu_pct %.0f" % (cpu / (t_last - t_assign) * 100))
    print("consume_first_message_after_s %.2f" % ((t_first or time.perf_counter()) - t_assign))
    lost = a.messages - uniq
    print("lost=%d dup=%d out_of_order=%d foreign=%d consume_errors=%d" % (lost, dup, out_of_order, foreign, errors))
    sys.stdout.flush()
    return 0 if lost == 0 and dup == 0 and out_of_order == 0 and foreign == 0 and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
