/**
 * The protobuf wire format, as far as ONNX files use it: a bounds-checked reader over a byte
 * range that reports malformed input through `fail` (never reads past its message).
 */
export type ProtoRange = { start: number; end: number };

export class ProtoReader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
    readonly fail: (why: string) => never,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    // Up to 10 bytes; values above 2^53 lose precision, which no field we read reaches.
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('a number runs past the end of its message');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    return this.fail('a number is longer than 10 bytes');
  }

  /** Signed int64 as written by protobuf (two's complement in 10 bytes for negatives). */
  int64(): number {
    const v = this.varint();
    return v >= 2 ** 63 ? v - 2 ** 64 : v;
  }

  tag(): { field: number; wire: number } {
    const t = this.varint();
    const field = Math.floor(t / 8);
    if (field === 0) this.fail('a field number is 0');
    return { field, wire: t & 7 };
  }

  bytes(): ProtoRange {
    const len = this.varint();
    const start = this.pos;
    if (len > this.end - start) this.fail(`a field of ${len} bytes runs past the end of its message`);
    this.pos = start + len;
    return { start, end: this.pos };
  }

  string(): string {
    const { start, end } = this.bytes();
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + start, end - start).toString('utf8');
  }

  sub(range: ProtoRange): ProtoReader {
    return new ProtoReader(this.buf, range.start, range.end, this.fail);
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.advance(8);
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.advance(4);
    else this.fail(`wire type ${wire} (groups) is not used by ONNX`);
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) this.fail('a fixed-size field runs past the end of its message');
    this.pos += n;
  }

  /** Reads each field of this message, calling `on` for the ones it handles (returns true). */
  each(on: (field: number, wire: number) => boolean): void {
    while (!this.done()) {
      const { field, wire } = this.tag();
      const before = this.pos;
      if (!on(field, wire)) {
        this.pos = before;
        this.skip(wire);
      }
    }
  }

  /**
   * Each remaining field: its number, wire type, the whole field's byte range and (length-delimited)
   * its payload's, for rewriting a message while copying every other byte through.
   */
  *fields(): Generator<{ field: number; wire: number; whole: ProtoRange; payload: ProtoRange | null }> {
    while (!this.done()) {
      const start = this.pos;
      const { field, wire } = this.tag();
      const payload = wire === 2 ? this.bytes() : (this.skip(wire), null);
      yield { field, wire, whole: { start, end: this.pos }, payload };
    }
  }

  /** The UTF-8 text of a range of this buffer. */
  text(r: ProtoRange): string {
    return Buffer.from(this.buf.subarray(r.start, r.end)).toString('utf8');
  }

  /** The float of a wire-5 field (fixed32, little-endian) whose whole range (tag included) is `whole`. */
  floatAt(whole: ProtoRange): number {
    if (whole.end - whole.start < 5) this.fail('a 32-bit field is cut short');
    return Buffer.from(this.buf.subarray(whole.end - 4, whole.end)).readFloatLE(0);
  }

  /** The values of a packed repeated varint field (e.g. TensorProto.dims written packed). */
  packedVarints(payload: ProtoRange): number[] {
    const r = this.sub(payload);
    const out: number[] = [];
    while (!r.done()) out.push(r.int64());
    return out;
  }

  /** The varint value of a wire-0 field whose whole range (tag included) is `whole`. */
  varintAt(whole: ProtoRange): number {
    const r = this.sub(whole);
    r.varint();
    return r.varint();
  }
}
