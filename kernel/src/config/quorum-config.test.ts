/** The metadata quorum's keys in broker-config.ts: defaults, voter parsing and cross-key checks. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-def.js';
import { loadBrokerConfig, type BrokerConfig } from './broker-config.js';
import { raftConfigOf } from '../metadata/metadata-log.js';

function load(props: Record<string, string>): BrokerConfig {
  return loadBrokerConfig(props, { warn: (msg) => { throw new Error(msg); } });
}

function errorOf(props: Record<string, string>): ConfigError {
  try {
    load(props);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('metadata quorum configuration', () => {
  it('defaults to a sole voter with Kafka\'s timings, the metadata log in the first log dir', () => {
    const config = load({ 'log.dirs': '/a,/b' });
    expect(config).toMatchObject({
      processRoles: ['broker', 'controller'], controllerListenerNames: ['CONTROLLER'], quorumVoters: [],
      quorumElectionTimeoutMs: 1000, quorumFetchTimeoutMs: 2000, quorumRequestTimeoutMs: 2000, quorumAppendLingerMs: 25,
      metadataLogDir: path.resolve('/a'),
    });
    expect(raftConfigOf(config)).toMatchObject({ electionTimeoutMs: 1000, fetchTimeoutMs: 2000, appendLingerMs: 25 });
    expect(load({ 'metadata.log.dir': '/meta' }).metadataLogDir).toBe(path.resolve('/meta'));
  });

  it('parses voters as id@host:port, IPv6 in brackets', () => {
    const config = load({ 'node.id': '2', 'controller.quorum.voters': '1@a.example:9093,2@[::1]:9094,3@10.0.0.3:9095' });
    expect(config.quorumVoters).toEqual([
      { nodeId: 1, host: 'a.example', port: 9093 }, { nodeId: 2, host: '::1', port: 9094 }, { nodeId: 3, host: '10.0.0.3', port: 9095 },
    ]);
  });

  it('refuses malformed voters, a controller outside them, and bootstrap servers alone', () => {
    expect(errorOf({ 'controller.quorum.voters': '1@host' }).message).toMatch(/not id@host:port/);
    expect(errorOf({ 'controller.quorum.voters': 'x@host:1' }).message).toMatch(/not id@host:port/);
    expect(errorOf({ 'controller.quorum.voters': '1@host:70000' }).message).toMatch(/not id@host:port/);
    expect(errorOf({ 'controller.quorum.voters': '1@a:1,1@b:2' }).message).toMatch(/listed twice/);
    expect(errorOf({ 'node.id': '4', 'controller.quorum.voters': '1@a:1,2@b:2,3@c:3' }).message).toMatch(/not among the voters/);
    expect(errorOf({ 'process.roles': 'broker' }).message).toMatch(/needs the voters/);
    expect(errorOf({ 'process.roles': 'broker', 'controller.quorum.voters': '1@a:1' }).message).toMatch(/must include controller/);
    expect(errorOf({ 'controller.quorum.bootstrap.servers': 'a:9093' }).message).toMatch(/static/);
    expect(errorOf({ 'controller.quorum.bootstrap.servers': 'a', 'controller.quorum.voters': '1@a:1' }).message).toMatch(/not host:port/);
    expect(errorOf({ 'controller.quorum.election.timeout.ms': '0' }).key).toBe('controller.quorum.election.timeout.ms');
    // A broker that is not a voter may name any voters.
    expect(load({ 'node.id': '4', 'process.roles': 'broker', 'controller.quorum.voters': '1@a:1' }).quorumVoters).toHaveLength(1);
  });
});
