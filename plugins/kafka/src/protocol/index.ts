export { ProtocolError, Reader, EMPTY_BYTES, type Decoded } from './reader.js';
export { Writer, uvarintSize } from './writer.js';
export { ZERO_UUID, isZeroUuid, uuidEquals, uuidFromString, uuidToString } from './uuid.js';
export {
  type Codec,
  type KnownApiKey,
  type RequestCodecs,
  type RequestFrame,
  type RequestOf,
  type ResponseCodecs,
  type ResponseOf,
  decodeRequestBody,
  encodeRequest,
  encodeResponse,
  encodeResponseChunks,
  isKnownApiKey,
  readRequestFrame,
  readResponseFrame,
  requestCodec,
  responseCodec,
} from './frame.js';
export * from './generated/index.js';
