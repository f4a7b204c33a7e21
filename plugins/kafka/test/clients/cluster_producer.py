"""A confluent_kafka (librdkafka) producer for the cluster failover tests: writes until told to stop.

Usage: cluster_producer.py BOOTSTRAP < JSON_ARGS_LINE, then close stdin to stop
args: {"topic", "partitions", "rate_per_s", "timeout_s", "config"}; the first line of stdin
is the JSON, end of stdin is the signal to stop producing, flush and exit.

Produces unique values "p:seq" round-robin over the partitions with acks=all and
idempotence, and keeps producing through delivery errors: a failover is what is being
tested, and librdkafka retries within message.timeout.ms. Prints one line per
acknowledgement as it arrives ("ack P OFFSET VALUE", flushed at once) so that the test
sees progress while it kills nodes, one line per failed delivery ("fail P VALUE ERROR"),
and finally "done {json counts}".
"""
import json
import sys
import threading
import time

from confluent_kafka import Producer


def main():
    bootstrap = sys.argv[1]
    args = json.loads(sys.stdin.readline())
    stop = threading.Event()

    def wait_for_eof():
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    topic, partitions = args["topic"], args["partitions"]
    interval_s = 1.0 / args.get("rate_per_s", 200)
    deadline = time.monotonic() + args.get("timeout_s", 300)
    producer = Producer({
        "bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5,
        # Long enough for a leader's death to be detected and a new one elected.
        "message.timeout.ms": 60000, "retry.backoff.ms": 100, "topic.metadata.refresh.interval.ms": 1000,
        **args.get("config", {}),
    })
    state = {"sent": 0, "acked": 0, "failed": 0}

    def on_delivery(err, msg):
        if err is not None:
            state["failed"] += 1
            sys.stdout.write(f"fail {msg.partition()} {msg.value().decode()} {err.name()}\n")
        else:
            state["acked"] += 1
            sys.stdout.write(f"ack {msg.partition()} {msg.offset()} {msg.value().decode()}\n")
        sys.stdout.flush()

    seqs = [0] * partitions
    next_at = time.monotonic()
    while not stop.is_set() and time.monotonic() < deadline:
        p = state["sent"] % partitions
        try:
            producer.produce(topic, value=f"{p}:{seqs[p]}".encode(), partition=p, on_delivery=on_delivery)
            seqs[p] += 1
            state["sent"] += 1
        except BufferError:
            pass
        next_at += interval_s
        producer.poll(max(0.0, next_at - time.monotonic()))
    remaining = producer.flush(65)
    sys.stdout.write("done " + json.dumps({**state, "unflushed": remaining}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
