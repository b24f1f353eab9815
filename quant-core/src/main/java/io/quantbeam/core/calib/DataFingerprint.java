package io.quantbeam.core.calib;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;

/**
 * An order-free fingerprint of a calibration corpus: the count of texts and two 64-bit sums of each
 * text's SHA-256. Sums commute, so shards can be fingerprinted separately and combined, and the
 * fingerprint does not depend on file layout or runner — like the statistics it keys.
 */
public final class DataFingerprint {
  private long count;
  private long lane0;
  private long lane1;

  public void add(String text) {
    byte[] h = sha256(text.getBytes(StandardCharsets.UTF_8));
    ByteBuffer b = ByteBuffer.wrap(h);
    lane0 += b.getLong();
    lane1 += b.getLong();
    count++;
  }

  public DataFingerprint merge(DataFingerprint other) {
    DataFingerprint m = new DataFingerprint();
    m.count = count + other.count;
    m.lane0 = lane0 + other.lane0;
    m.lane1 = lane1 + other.lane1;
    return m;
  }

  public long count() {
    return count;
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "%d:%016x%016x", count, lane0, lane1);
  }

  /**
   * Reads back what {@link #toString()} wrote ({@code count:lane0lane1}, 32 hex digits), so that
   * partial fingerprints can cross process boundaries (a Beam coder) and be merged.
   *
   * @throws IllegalArgumentException if {@code s} is not such a string
   */
  public static DataFingerprint parse(String s) {
    int colon = s == null ? -1 : s.indexOf(':');
    if (colon < 1 || s.length() != colon + 33) {
      throw new IllegalArgumentException("not a data fingerprint: '" + s + "'");
    }
    DataFingerprint f = new DataFingerprint();
    f.count = Long.parseLong(s.substring(0, colon));
    f.lane0 = Long.parseUnsignedLong(s.substring(colon + 1, colon + 17), 16);
    f.lane1 = Long.parseUnsignedLong(s.substring(colon + 17), 16);
    return f;
  }

  private static byte[] sha256(byte[] data) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(data);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
