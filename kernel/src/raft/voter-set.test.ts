/** The VotersRecord codec against Kafka's layout, and the voter set history's truncation rule. */
import { describe, expect, it } from 'vitest';
import { VoterSetHistory } from './voter-set-history.js';
import { decodeVotersRecord, encodeVotersRecord, VoterSet } from './voter-set.js';

describe('VotersRecord', () => {
  const set = new VoterSet([
    { id: 4, directoryId: new Uint8Array(16), endpoints: [] },
    { id: 1, directoryId: new Uint8Array(16).map((_, i) => i + 1), endpoints: [{ name: 'CONTROLLER', host: 'c1.example', port: 9093 }] },
  ]);

  it('encodes as Kafka does (bytes of the plugin codec generated from VotersRecord.json)', () => {
    expect(Buffer.from(encodeVotersRecord(set)).toString('hex')).toBe(
      '000003000000010102030405060708090a0b0c0d0e0f10020b434f4e54524f4c4c45520b63312e6578616d706c65238500000000010000'
      + '00000004000000000000000000000000000000000100000001000000',
    );
  });

  it('decodes what it encodes and refuses a torn record', () => {
    expect(decodeVotersRecord(encodeVotersRecord(set)).voters).toEqual(set.voters);
    const bytes = encodeVotersRecord(set);
    expect(() => decodeVotersRecord(bytes.subarray(0, bytes.length - 3))).toThrow(/truncated/);
  });
});

describe('VoterSetHistory', () => {
  it('takes the newest entry, reverts on truncation, and tells the set a snapshot carries', () => {
    const bootstrap = VoterSet.ofIds([1, 2, 3]);
    const history = new VoterSetHistory(bootstrap, null);
    history.add(5, VoterSet.ofIds([1, 2, 3, 4]));
    history.add(9, VoterSet.ofIds([2, 3, 4]));
    expect(history.latest().ids()).toEqual([2, 3, 4]);
    expect(history.previous().ids()).toEqual([1, 2, 3, 4]);
    expect(history.dynamicSetBefore(5)).toBeNull();
    expect(history.dynamicSetBefore(6)?.ids()).toEqual([1, 2, 3, 4]);
    history.truncateTo(9);
    expect(history.latest().ids()).toEqual([1, 2, 3, 4]);
    history.truncateTo(3);
    expect(history.latest()).toBe(bootstrap);
    expect(() => { history.add(2, bootstrap); history.add(2, bootstrap); }).toThrow(/after one at/);
    // A voter removed by the newest entry is still found (a leader that removed itself leads until that commits).
    history.add(10, VoterSet.ofIds([2, 3]));
    expect(history.find(1)?.id).toBe(1);
    expect(history.find(9)).toBeUndefined();
    history.reset(VoterSet.ofIds([7]));
    expect(history.latest().ids()).toEqual([7]);
    expect(history.latestOffset()).toBe(-1);
  });
});
