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

  private static byte[] sha256(byte[] data) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(data);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
