"""confluent_kafka (librdkafka) transactional producers and isolation-level consumers.

Usage: transactions.py COMMAND BOOTSTRAP < JSON_ARGS
Prints one JSON document on stdout; diagnostics go to stderr. Bounded by args["timeout_s"].
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition


def txn_producer(bootstrap, txn_id, extra=None):
    config = {"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 5}
    config.update(extra or {})
    producer = Producer(config)
    producer.init_transactions(30)
    return producer


def transactions(bootstrap, args):
    """Runs args["transactions"] in order: each {"records": [[partition, value]...], "commit": bool}."""
    producer = txn_producer(bootstrap, args["transactional_id"], args.get("config"))
    outcomes = []
    for txn in args["transactions"]:
        producer.begin_transaction()
        for partition, value in txn["records"]:
            producer.produce(args["topic"], value=value.encode(), partition=partition)
        producer.flush(30)
        if txn["commit"]:
            producer.commit_transaction(30)
            outcomes.append("committed")
        else:
            producer.abort_transaction(30)
            outcomes.append("aborted")
    return {"outcomes": outcomes}


def leave_open(bootstrap, args):
    """Begins a transaction, produces and flushes its records, and exits without ending it."""
    producer = txn_producer(bootstrap, args["transactional_id"], args.get("config"))
    producer.begin_transaction()
    for partition, value in args["records"]:
        producer.produce(args["topic"], value=value.encode(), partition=partition)
    remaining = producer.flush(30)
    return {"unflushed": remaining}


def fence(bootstrap, args):
    """A second producer with the same transactional id fences the first, whose commit then fails."""
    topic, txn_id = args["topic"], args["transactional_id"]
    first = txn_producer(bootstrap, txn_id)
    first.begin_transaction()
    first.produce(topic, value=b"zombie", partition=0)
    first.flush(30)
    second = txn_producer(bootstrap, txn_id)
    second.begin_transaction()
    second.produce(topic, value=b"fresh", partition=0)
    second.commit_transaction(30)
    zombie = {"fatal": False, "name": None}
    try:
        first.produce(topic, value=b"zombie-2", partition=0)
        first.flush(10)
        first.commit_transaction(10)
    except KafkaException as e:
        err = e.args[0]
        zombie = {"fatal": err.fatal(), "name": err.name()}
    return {"zombie": zombie}


def consume(bootstrap, args):
    """Reads args["partitions"] of args["topic"] from the start at args["isolation"] until idle."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": "txn-test", "enable.auto.commit": False,
        "isolation.level": args["isolation"], "enable.partition.eof": True,
    })
    consumer.assign([TopicPartition(args["topic"], p, 0) for p in args["partitions"]])
    deadline = time.monotonic() + args.get("timeout_s", 30)
    idle_until = time.monotonic() + args.get("idle_s", 3)
    values = []
    while time.monotonic() < deadline and time.monotonic() < idle_until:
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if msg.error() is not None:
            continue
        values.append(msg.value().decode())
        idle_until = time.monotonic() + args.get("idle_s", 3)
    consumer.close()
    return {"values": sorted(values)}


def transform(bootstrap, args):
    """Consume-transform-produce: reads args["input"] in group args["group"], writes each value
    prefixed with "T" to args["output"] in transactions of up to args["batch"] records, committing the
    input offsets in the same transaction. Stops when nothing arrives for args["idle_s"]."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": args["group"], "enable.auto.commit": False,
        "isolation.level": "read_committed", "auto.offset.reset": "earliest",
        # A restarted instance takes its place at once instead of waiting out the old session.
        "group.instance.id": args["transactional_id"], "session.timeout.ms": 6000,
    })
    consumer.subscribe([args["input"]])
    producer = txn_producer(bootstrap, args["transactional_id"], {"linger.ms": 20})
    deadline = time.monotonic() + args.get("timeout_s", 120)
    idle_until = time.monotonic() + args.get("idle_s", 8)
    done = 0
    while time.monotonic() < deadline and time.monotonic() < idle_until:
        msgs = consumer.consume(args.get("batch", 500), 0.5)
        msgs = [m for m in msgs if m.error() is None]
        if not msgs:
            continue
        producer.begin_transaction()
        for m in msgs:
            producer.produce(args["output"], value=b"T" + m.value(), partition=m.partition())
        producer.send_offsets_to_transaction(consumer.position(consumer.assignment()), consumer.consumer_group_metadata(), 30)
        producer.commit_transaction(30)
        done += len(msgs)
        print(f"committed {done}", file=sys.stderr, flush=True)
        idle_until = time.monotonic() + args.get("idle_s", 8)
    consumer.close()
    return {"processed": done}


COMMANDS = {"transform": transform, "transactions": transactions, "leave-open": leave_open, "fence": fence, "consume": consume}

if __name__ == "__main__":
    command, bootstrap, raw = sys.argv[1], sys.argv[2], sys.stdin.read()
    json.dump(COMMANDS[command](bootstrap, json.loads(raw)), sys.stdout)
