package io.quantbeam.transforms;

import io.quantbeam.core.calib.DataFingerprint;
import io.quantbeam.core.stats.CalibrationTable;
import io.quantbeam.core.stats.TensorStats;
import io.quantbeam.core.text.EncodedBatch;
import io.quantbeam.core.text.LabeledText;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.coders.CoderException;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;

/**
 * Deterministic coders for the quant-core values that travel between pipeline stages. Each one
 * writes a value's canonical form (quant-core's own binary forms where they exist), so equal values
 * encode to equal bytes and the coders may key groupings and accumulate combines.
 */
public final class Coders {
  private Coders() {}

  /** {@link TensorStats} through {@link TensorStats#write}/{@link TensorStats#read}. */
  public static final class TensorStatsCoder extends CustomCoder<TensorStats> {
    private static final TensorStatsCoder INSTANCE = new TensorStatsCoder();

    public static TensorStatsCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(TensorStats value, OutputStream out) throws IOException {
      // length-prefixed so that the coder nests inside KVs and iterables
      java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(1024);
      value.write(new DataOutputStream(bytes));
      ByteArrayCoder.of().encode(bytes.toByteArray(), out);
    }

    @Override
    public TensorStats decode(InputStream in) throws IOException {
      byte[] bytes = ByteArrayCoder.of().decode(in);
      try {
        return TensorStats.read(new DataInputStream(new java.io.ByteArrayInputStream(bytes)));
      } catch (RuntimeException e) {
        throw new CoderException("corrupt tensor statistics: " + e.getMessage(), e);
      }
    }

    @Override
    public void verifyDeterministic() {}
  }

  /** {@link CalibrationTable} through its binary form ({@link CalibrationTable#toBytes}). */
  public static final class CalibrationTableCoder extends CustomCoder<CalibrationTable> {
    private static final CalibrationTableCoder INSTANCE = new CalibrationTableCoder();

    public static CalibrationTableCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(CalibrationTable value, OutputStream out) throws IOException {
      ByteArrayCoder.of().encode(value.toBytes(), out);
    }

    @Override
    public CalibrationTable decode(InputStream in) throws IOException {
      byte[] bytes = ByteArrayCoder.of().decode(in);
      try {
        return CalibrationTable.fromBytes(bytes);
      } catch (RuntimeException e) {
        throw new CoderException("corrupt calibration table: " + e.getMessage(), e);
      }
    }

    @Override
    public void verifyDeterministic() {}
  }

  /** {@link EncodedBatch}: shape, counts, then the three id arrays as varints. */
  public static final class EncodedBatchCoder extends CustomCoder<EncodedBatch> {
    private static final EncodedBatchCoder INSTANCE = new EncodedBatchCoder();

    public static EncodedBatchCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(EncodedBatch b, OutputStream out) throws IOException {
      VarIntCoder.of().encode(b.batchSize(), out);
      VarIntCoder.of().encode(b.seqLen(), out);
      VarIntCoder.of().encode(b.truncated(), out);
      VarLongCoder.of().encode(b.realTokens(), out);
      for (long[] a : new long[][] {b.inputIds(), b.attentionMask(), b.tokenTypeIds()}) {
        for (long v : a) {
          VarLongCoder.of().encode(v, out);
        }
      }
    }

    @Override
    public EncodedBatch decode(InputStream in) throws IOException {
      int batch = VarIntCoder.of().decode(in);
      int seq = VarIntCoder.of().decode(in);
      int truncated = VarIntCoder.of().decode(in);
      long real = VarLongCoder.of().decode(in);
      long[][] arrays = new long[3][Math.multiplyExact(batch, seq)];
      for (long[] a : arrays) {
        for (int i = 0; i < a.length; i++) {
          a[i] = VarLongCoder.of().decode(in);
        }
      }
      try {
        return new EncodedBatch(batch, seq, arrays[0], arrays[1], arrays[2], truncated, real);
      } catch (IllegalArgumentException e) {
        throw new CoderException("corrupt encoded batch: " + e.getMessage(), e);
      }
    }

    @Override
    public void verifyDeterministic() {}
  }

  /** {@link LabeledText}: UTF-8 text and a zigzag-free varint label ({@code -1}: none). */
  public static final class LabeledTextCoder extends CustomCoder<LabeledText> {
    private static final LabeledTextCoder INSTANCE = new LabeledTextCoder();

    public static LabeledTextCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(LabeledText value, OutputStream out) throws IOException {
      StringUtf8Coder.of().encode(value.text(), out);
      VarIntCoder.of().encode(value.label(), out);
    }

    @Override
    public LabeledText decode(InputStream in) throws IOException {
      return new LabeledText(StringUtf8Coder.of().decode(in), VarIntCoder.of().decode(in));
    }

    @Override
    public void verifyDeterministic() {}
  }

  /** {@link DataFingerprint} through its string form. */
  public static final class DataFingerprintCoder extends CustomCoder<DataFingerprint> {
    private static final DataFingerprintCoder INSTANCE = new DataFingerprintCoder();

    public static DataFingerprintCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(DataFingerprint value, OutputStream out) throws IOException {
      StringUtf8Coder.of().encode(value.toString(), out);
    }

    @Override
    public DataFingerprint decode(InputStream in) throws IOException {
      String s = StringUtf8Coder.of().decode(in);
      try {
        return DataFingerprint.parse(s);
      } catch (IllegalArgumentException e) {
        throw new CoderException(e.getMessage(), e);
      }
    }

    @Override
    public void verifyDeterministic() {}
  }

  /**
   * Java serialization for the small Serializable values of the validation steps. Unlike Beam's
   * SerializableCoder it compares values by their encoding (the classes hold arrays, whose
   * equals is identity), so DirectRunner's mutation checks stay quiet.
   */
  public static final class JavaSerialCoder<T extends java.io.Serializable> extends CustomCoder<T> {
    private final Class<T> type;

    private JavaSerialCoder(Class<T> type) {
      this.type = type;
    }

    public static <T extends java.io.Serializable> JavaSerialCoder<T> of(Class<T> type) {
      return new JavaSerialCoder<>(type);
    }

    @Override
    public void encode(T value, OutputStream out) throws IOException {
      java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
      try (java.io.ObjectOutputStream o = new java.io.ObjectOutputStream(bytes)) {
        o.writeObject(value);
      }
      org.apache.beam.sdk.coders.ByteArrayCoder.of().encode(bytes.toByteArray(), out);
    }

    @Override
    public T decode(InputStream in) throws IOException {
      byte[] data = org.apache.beam.sdk.coders.ByteArrayCoder.of().decode(in);
      try (java.io.ObjectInputStream o = new java.io.ObjectInputStream(
          new java.io.ByteArrayInputStream(data))) {
        return type.cast(o.readObject());
      } catch (ClassNotFoundException e) {
        throw new IOException("Cannot decode a " + type.getSimpleName() + ": " + e, e);
      }
    }
  }
}
