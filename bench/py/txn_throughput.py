#!/usr/bin/python3
"""Producer throughput with and without transactions, one librdkafka producer.

  txn_throughput.py --bootstrap H:P --topic T --messages N --size S --mode idempotent|transactional
                    [--txn-messages M] [--partitions P]

idempotent: N records of S bytes with enable.idempotence, then flush. transactional: the
same records in transactions of M records each (begin, produce M, commit), with a
transactional.id. Values round-robin over P partitions. Prints "msgs_per_s X" and
"mib_per_s X" for the span from the first produce() to the last ack (idempotent) or the
last commit (transactional).
"""
import argparse
import sys
import time

from confluent_kafka import Producer

parser = argparse.ArgumentParser()
parser.add_argument("--bootstrap", required=True)
parser.add_argument("--topic", required=True)
parser.add_argument("--messages", type=int, required=True)
parser.add_argument("--size", type=int, default=100)
parser.add_argument("--mode", choices=["idempotent", "transactional"], required=True)
parser.add_argument("--txn-messages", type=int, default=1000)
parser.add_argument("--partitions", type=int, default=1)
args = parser.parse_args()

config = {"bootstrap.servers": args.bootstrap, "linger.ms": 5, "enable.idempotence": True}
if args.mode == "transactional":
    config["transactional.id"] = f"bench-{args.topic}"
producer = Producer(config)
if args.mode == "transactional":
    producer.init_transactions(30)
value = b"x" * args.size


def send(i):
    while True:
        try:
            producer.produce(args.topic, value=value, partition=i % args.partitions)
            return
        except BufferError:
            producer.poll(0.01)


start = time.monotonic()
if args.mode == "idempotent":
    for i in range(args.messages):
        send(i)
    if producer.flush(120) != 0:
        sys.exit("records left unflushed")
else:
    sent = 0
    while sent < args.messages:
        producer.begin_transaction()
        n = min(args.txn_messages, args.messages - sent)
        for i in range(sent, sent + n):
            send(i)
        producer.commit_transaction(60)
        sent += n
elapsed = time.monotonic() - start
print(f"msgs_per_s {args.messages / elapsed:.0f}")
print(f"mib_per_s {args.messages * args.size / elapsed / 1048576:.2f}")
