"""kafka-python's KafkaAdminClient against a broker: one admin scenario, outcomes as JSON on stdout.

Usage: kafka_python_admin.py <bootstrap> <topic prefix>
Every step records what the client returned or the error class it raised, so the test
decides what is right; the script itself asserts nothing.
"""
import json
import sys

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions, NewTopic

bootstrap, prefix = sys.argv[1], sys.argv[2]
admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id='sluice-admin-test', request_timeout_ms=15000)
out = {}


def step(name, fn):
    try:
        out[name] = {'ok': fn()}
    except Exception as e:  # the error class is the outcome under test
        out[name] = {'error': type(e).__name__}


def topic_configs(name):
    [response] = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)], include_synonyms=True)
    [(error_code, _message, _type, _name, entries)] = response.resources
    return {
        'error_code': error_code,
        'version': response.API_VERSION,
        # (name, value, read_only, source, sensitive, synonyms); kafka-python's v1 schema calls source is_default.
        'configs': {e[0]: {'value': e[1], 'source': int(e[3]), 'synonyms': [[s[0], s[1], s[2]] for s in e[5]]} for e in entries},
    }


main = prefix + '-main'
node = admin.describe_cluster()['controller_id']
step('validate_only', lambda: admin.create_topics([NewTopic(main, 2, 1)], validate_only=True).API_VERSION)
step('topics_after_validate', lambda: main in admin.list_topics())
step('create', lambda: admin.create_topics([NewTopic(main, 2, 1, topic_configs={'retention.ms': '3600000'})]).API_VERSION)
step('create_again', lambda: admin.create_topics([NewTopic(main, 2, 1)]).API_VERSION)
step('create_invalid_name', lambda: admin.create_topics([NewTopic('bad name!', 1, 1)]).API_VERSION)
step('create_bad_config', lambda: admin.create_topics([NewTopic(prefix + '-bad', 1, 1, topic_configs={'retention.ms': 'soon'})]).API_VERSION)
step('create_rf3', lambda: admin.create_topics([NewTopic(prefix + '-rf3', 1, 3)]).API_VERSION)
step('create_assigned', lambda: admin.create_topics([NewTopic(prefix + '-assigned', -1, -1, replica_assignments={0: [node], 1: [node]})]).API_VERSION)
step('create_assigned_elsewhere', lambda: admin.create_topics([NewTopic(prefix + '-elsewhere', -1, -1, replica_assignments={0: [node + 1]})]).API_VERSION)
step('describe', lambda: topic_configs(main))
step('alter', lambda: [r[0] for r in admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, main, configs={'segment.bytes': '1048576'})]).resources])
step('describe_after_alter', lambda: topic_configs(main))
step('alter_broker', lambda: [r[0] for r in admin.alter_configs([ConfigResource(ConfigResourceType.BROKER, '0', configs={'num.partitions': '3'})]).resources])
step('create_partitions', lambda: admin.create_partitions({main: NewPartitions(5)}).API_VERSION)
step('shrink_partitions', lambda: admin.create_partitions({main: NewPartitions(3)}).API_VERSION)
step('partitions', lambda: len(admin.describe_topics([main])[0]['partitions']))
step('cluster', lambda: admin.describe_cluster())
step('delete', lambda: admin.delete_topics([main, prefix + '-assigned']).API_VERSION)
step('delete_missing', lambda: admin.delete_topics([prefix + '-missing']).API_VERSION)
step('topics_after_delete', lambda: sorted(t for t in admin.list_topics() if t.startswith(prefix)))
admin.close()
print(json.dumps(out))
