package io.quantbeam.core.stats;

import io.quantbeam.core.QuantbeamException;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;

/** Unsigned LEB128 encoding of non-negative longs (7 bits a byte, low bits first). */
final class Varint {
  private Varint() {}

  static void write(DataOutput out, long v) throws IOException {
    if (v < 0) {
      throw new IllegalArgumentException("negative count " + v);
    }
    while ((v & ~0x7FL) != 0) {
      out.writeByte((int) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.writeByte((int) v);
  }

  static long read(DataInput in) throws IOException {
    long v = 0;
    for (int shift = 0; shift < 63; shift += 7) {
      int b = in.readUnsignedByte();
      v |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        if (shift > 0 && b == 0) {
          throw new QuantbeamException("corrupt count encoding (not minimal); recalibrate");
        }
        return v;
      }
    }
    throw new QuantbeamException("corrupt count encoding (too long or negative); recalibrate");
  }
}
