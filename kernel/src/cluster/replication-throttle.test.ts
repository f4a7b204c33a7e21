import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { toLogConfig, validateTopicConfigs } from '../config/topic-config.js';
import { isThrottledReplica, replicationThrottle, ReplicationThrottle, THROTTLE_BURST_MS } from './replication-throttle.js';

describe('ReplicationThrottle', () => {
  it('spends a burst, then holds back until the rate has paid the debt', () => {
    const clock = new ManualClock(0);
    const throttle = new ReplicationThrottle(1000, clock);
    expect(throttle.isExceeded()).toBe(false);
    throttle.record(600);
    expect(throttle.isExceeded()).toBe(false);
    throttle.record(900); // a batch comes whole: 500 bytes of debt
    expect(throttle.isExceeded()).toBe(true);
    expect(throttle.delayMs()).toBe(501);
    clock.advance(501);
    expect(throttle.isExceeded()).toBe(false);
    // Idle time saves up at most the burst.
    clock.advance(60_000);
    throttle.record((1000 * THROTTLE_BURST_MS) / 1000);
    expect(throttle.isExceeded()).toBe(true);
  });

  it('an unlimited rate (Kafka\'s Long.MAX_VALUE default) is no throttle', () => {
    expect(replicationThrottle(Number.POSITIVE_INFINITY, new ManualClock(0))).toBeUndefined();
    expect(replicationThrottle(1 << 20, new ManualClock(0))).toBeInstanceOf(ReplicationThrottle);
  });

  it('reads the throttled replicas lists as Kafka writes them', () => {
    expect(isThrottledReplica(['*'], 3, 7)).toBe(true);
    expect(isThrottledReplica(['0:1', '3:7'], 3, 7)).toBe(true);
    expect(isThrottledReplica(['0:1', '3:8'], 3, 7)).toBe(false);
    expect(isThrottledReplica([], 0, 1)).toBe(false);
    expect(toLogConfig({}, { 'follower.replication.throttled.replicas': '0:1, 1:2' }).followerReplicationThrottledReplicas).toEqual(['0:1', '1:2']);
    expect(() => validateTopicConfigs({ 'follower.replication.throttled.replicas': '0-1' })).toThrow(/follower.replication.throttled.replicas/);
    expect(() => validateTopicConfigs({ 'leader.replication.throttled.replicas': '*' })).not.toThrow();
  });
});
