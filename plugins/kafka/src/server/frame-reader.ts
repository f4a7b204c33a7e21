/**
 * Splits a TCP byte stream into Kafka request frames: a 4-byte big-endian size, then that
 * many bytes. Chunks are kept as they arrive; a frame is copied only when it spans
 * chunks. Sizes are checked before any byte of the body is buffered, so a client cannot
 * make the broker hold more than `frameBytesMax` for one request.
 */

export class FrameTooLargeError extends Error {
  constructor(readonly sizeBytes: number, readonly sizeBytesMax: number) {
    super(`request of ${sizeBytes} bytes exceeds socket.request.max.bytes ${sizeBytesMax}`);
  }
}

export class InvalidFrameSizeError extends Error {
  constructor(readonly sizeBytes: number) {
    super(`negative or empty request size ${sizeBytes}`);
  }
}

const SIZE_PREFIX_BYTES = 4;

export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Size of the frame being assembled, or -1 while the size prefix is incomplete. */
  private frameSize = -1;

  constructor(private readonly frameBytesMax: number) {}

  /** Bytes held that do not yet form a whole frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Adds a chunk and returns the complete frames it finishes (bodies without the size
   * prefix). Throws FrameTooLargeError / InvalidFrameSizeError; the connection must close.
   */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.frameSize < 0) {
        if (this.buffered < SIZE_PREFIX_BYTES) break;
        const size = this.take(SIZE_PREFIX_BYTES).readInt32BE(0);
        if (size <= 0) throw new InvalidFrameSizeError(size);
        if (size > this.frameBytesMax) throw new FrameTooLargeError(size, this.frameBytesMax);
        this.frameSize = size;
      }
      if (this.buffered < this.frameSize) break;
      frames.push(this.take(this.frameSize));
      this.frameSize = -1;
    }
    return frames;
  }

  /** Removes `n` buffered bytes, copying only when they span chunks. */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const part = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, part);
      filled += part;
      if (part === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(part);
    }
    return out;
  }
}
