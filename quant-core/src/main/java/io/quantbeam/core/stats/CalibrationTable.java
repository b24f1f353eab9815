package io.quantbeam.core.stats;

import io.quantbeam.core.QuantbeamException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.zip.CRC32;

/**
 * The calibration table: statistics per tensor name plus string metadata (model sha256, data
 * fingerprint, example count, ...), both sorted by key, with an exact, order-free merge and a
 * deterministic binary form.
 *
 * <p>The table does not change after construction: the constructor and {@link #merge} copy the
 * statistics. {@link #tensors()} and {@link #get} hand out the table's own {@link TensorStats};
 * callers must not modify them (take {@link TensorStats#copy()} to update).
 *
 * <h2>Binary format (version 1)</h2>
 *
 * All integers big-endian ({@link java.io.DataOutput}); strings are an int byte length followed by
 * that many UTF-8 bytes.
 *
 * <pre>
 * offset 0  4 bytes   magic "QBCT" (0x51 0x42 0x43 0x54)
 *           int       format version (1)
 *           int       metadata entry count M
 *           M times   key string, value string          (keys strictly increasing, String order)
 *           int       tensor count T
 *           T times   name string, TensorStats record    (names strictly increasing, String order)
 *           int       CRC-32 of every byte before it
 * </pre>
 *
 * A TensorStats record is described in {@link TensorStats#write}; it starts with its own version
 * byte. The same table always gives the same bytes, so {@link #sha256()} identifies its content.
 *
 * <h2>Merge rule</h2>
 *
 * Tensors: the union of names; statistics of a name present in both are merged exactly.
 * Metadata: the union of keys; a key present in both must have the same value, otherwise the merge
 * fails (the parts were calibrated on different models or settings). Keys that legitimately differ
 * per part (e.g. an example count) should be set on the merged table with {@link #withMetadata}.
 */
public final class CalibrationTable {
  private static final byte[] MAGIC = {'Q', 'B', 'C', 'T'};
  /** Current binary format version. */
  public static final int FORMAT_VERSION = 1;
  private static final int MAX_STRING_BYTES = 1 << 20;

  private final SortedMap<String, TensorStats> tensors;
  private final SortedMap<String, String> metadata;

  /** Copies {@code tensors} (deeply) and {@code metadata}. */
  public CalibrationTable(Map<String, TensorStats> tensors, Map<String, String> metadata) {
    TreeMap<String, TensorStats> t = new TreeMap<>();
    for (Map.Entry<String, TensorStats> e : tensors.entrySet()) {
      t.put(requireName(e.getKey(), "tensor name"), e.getValue().copy());
    }
    TreeMap<String, String> m = new TreeMap<>();
    for (Map.Entry<String, String> e : metadata.entrySet()) {
      m.put(requireName(e.getKey(), "metadata key"), requireName(e.getValue(), "metadata value"));
    }
    this.tensors = Collections.unmodifiableSortedMap(t);
    this.metadata = Collections.unmodifiableSortedMap(m);
  }

  private CalibrationTable(TreeMap<String, TensorStats> owned, TreeMap<String, String> meta,
      boolean alreadyCopied) {
    this.tensors = Collections.unmodifiableSortedMap(owned);
    this.metadata = Collections.unmodifiableSortedMap(meta);
  }

  private static String requireName(String s, String what) {
    if (s == null) {
      throw new QuantbeamException(what + " must not be null");
    }
    return s;
  }

  /** A table with no tensors and no metadata. */
  public static CalibrationTable empty() {
    return new CalibrationTable(new TreeMap<>(), new TreeMap<>(), true);
  }

  /** Tensor name to statistics, sorted; read-only view (do not modify the statistics). */
  public SortedMap<String, TensorStats> tensors() {
    return tensors;
  }

  /** Metadata, sorted by key; read-only. */
  public SortedMap<String, String> metadata() {
    return metadata;
  }

  /** Statistics of {@code tensor}, or null when the table has none (do not modify them). */
  public TensorStats get(String tensor) {
    return tensors.get(tensor);
  }

  /** A table like this one with metadata {@code key} set to {@code value} (replacing any). */
  public CalibrationTable withMetadata(String key, String value) {
    TreeMap<String, String> m = new TreeMap<>(metadata);
    m.put(requireName(key, "metadata key"), requireName(value, "metadata value"));
    return new CalibrationTable(new TreeMap<>(tensors), m, true);
  }

  /** A table like this one with {@code stats} (copied) for {@code tensor} (replacing any). */
  public CalibrationTable withTensor(String tensor, TensorStats stats) {
    TreeMap<String, TensorStats> t = new TreeMap<>(tensors);
    t.put(requireName(tensor, "tensor name"), stats.copy());
    return new CalibrationTable(t, new TreeMap<>(metadata), true);
  }

  /**
   * The exact merge of two tables (see the class description for the rule).
   *
   * @throws QuantbeamException if a metadata key has different values, or bin counts differ
   */
  public CalibrationTable merge(CalibrationTable other) {
    TreeMap<String, String> m = new TreeMap<>(metadata);
    for (Map.Entry<String, String> e : other.metadata.entrySet()) {
      String mine = m.putIfAbsent(e.getKey(), e.getValue());
      if (mine != null && !mine.equals(e.getValue())) {
        throw new QuantbeamException(
            "cannot merge calibration tables: metadata '" + e.getKey() + "' is '" + mine
                + "' in one and '" + e.getValue() + "' in the other; merge only tables calibrated"
                + " for the same model and settings");
      }
    }
    TreeMap<String, TensorStats> t = new TreeMap<>(tensors);
    for (Map.Entry<String, TensorStats> e : other.tensors.entrySet()) {
      TensorStats mine = t.get(e.getKey());
      t.put(e.getKey(), mine == null ? e.getValue() : mine.merge(e.getValue()));
    }
    return new CalibrationTable(t, m, true);
  }

  // ---------------------------------------------------------------- bytes

  /** The binary form described in the class Javadoc. */
  public byte[] toBytes() {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 << 16);
      DataOutputStream out = new DataOutputStream(bytes);
      out.write(MAGIC);
      out.writeInt(FORMAT_VERSION);
      out.writeInt(metadata.size());
      for (Map.Entry<String, String> e : metadata.entrySet()) {
        writeString(out, e.getKey());
        writeString(out, e.getValue());
      }
      out.writeInt(tensors.size());
      for (Map.Entry<String, TensorStats> e : tensors.entrySet()) {
        writeString(out, e.getKey());
        e.getValue().write(out);
      }
      out.flush();
      CRC32 crc = new CRC32();
      crc.update(bytes.toByteArray());
      out.writeInt((int) crc.getValue());
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // cannot happen in memory
    }
  }

  /**
   * Parses the binary form.
   *
   * @throws QuantbeamException if the bytes are not a calibration table, are truncated or corrupt,
   *     or have an unsupported format version
   */
  public static CalibrationTable fromBytes(byte[] data) {
    if (data.length < MAGIC.length + 4 || data[0] != MAGIC[0] || data[1] != MAGIC[1]
        || data[2] != MAGIC[2] || data[3] != MAGIC[3]) {
      throw new QuantbeamException(
          "not a Quantbeam calibration table (no 'QBCT' header); point to a table written by"
              + " the calibration step, or recalibrate");
    }
    DataInputStream in = new DataInputStream(new ByteArrayInputStream(data));
    try {
      in.skipNBytes(MAGIC.length);
      int version = in.readInt();
      if (version != FORMAT_VERSION) {
        throw new QuantbeamException(
            "calibration table format version " + version + " is not supported (this build reads "
                + FORMAT_VERSION + "); recalibrate with this version");
      }
      if (data.length < MAGIC.length + 16) { // version, two counts, checksum
        throw truncated();
      }
      CRC32 crc = new CRC32();
      crc.update(data, 0, data.length - 4);
      int stored = ((data[data.length - 4] & 0xFF) << 24) | ((data[data.length - 3] & 0xFF) << 16)
          | ((data[data.length - 2] & 0xFF) << 8) | (data[data.length - 1] & 0xFF);
      if ((int) crc.getValue() != stored) {
        throw new QuantbeamException(
            "calibration table is corrupt or truncated (checksum mismatch); recalibrate or restore"
                + " the file");
      }
      DataInputStream body =
          new DataInputStream(new ByteArrayInputStream(data, 0, data.length - 4));
      body.skipNBytes(MAGIC.length + 4);
      int metaCount = readCount(body);
      TreeMap<String, String> meta = new TreeMap<>();
      String prev = null;
      for (int i = 0; i < metaCount; i++) {
        String k = readString(body);
        String v = readString(body);
        prev = requireIncreasing(prev, k);
        meta.put(k, v);
      }
      int tensorCount = readCount(body);
      TreeMap<String, TensorStats> t = new TreeMap<>();
      prev = null;
      for (int i = 0; i < tensorCount; i++) {
        String name = readString(body);
        prev = requireIncreasing(prev, name);
        t.put(name, TensorStats.read(body));
      }
      if (body.available() != 0) {
        throw new QuantbeamException(
            "calibration table has " + body.available() + " unexpected trailing bytes; the file"
                + " is damaged, recalibrate");
      }
      return new CalibrationTable(t, meta, true);
    } catch (EOFException e) {
      throw truncated();
    } catch (IOException e) {
      throw new QuantbeamException("cannot parse calibration table: " + e.getMessage(), e);
    }
  }

  private static QuantbeamException truncated() {
    return new QuantbeamException(
        "calibration table is truncated; the write did not finish or the file was cut: recalibrate"
            + " or restore the file");
  }

  private static String requireIncreasing(String prev, String next) {
    if (prev != null && prev.compareTo(next) >= 0) {
      throw new QuantbeamException(
          "calibration table is corrupt (keys out of order at '" + next + "'); recalibrate");
    }
    return next;
  }

  private static int readCount(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > in.available()) {
      throw new QuantbeamException(
          "calibration table is corrupt (entry count " + n + "); recalibrate");
    }
    return n;
  }

  private static void writeString(DataOutputStream out, String s) throws IOException {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(b.length);
    out.write(b);
  }

  private static String readString(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > MAX_STRING_BYTES || n > in.available()) {
      throw new QuantbeamException(
          "calibration table is corrupt (string length " + n + "); recalibrate");
    }
    byte[] b = new byte[n];
    in.readFully(b);
    return new String(b, StandardCharsets.UTF_8);
  }

  /** Hex SHA-256 of {@link #toBytes()}. */
  public String sha256() {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(toBytes()));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  }

  // ---------------------------------------------------------------- files

  /**
   * Writes the table to {@code file}: first to a temporary file in the same folder, then renamed
   * into place (atomically where the file system allows), so readers never see a partial table.
   */
  public void write(Path file) {
    Path abs = file.toAbsolutePath();
    try {
      io.quantbeam.core.AtomicFiles.write(abs, toBytes());
    } catch (IOException e) {
      throw new QuantbeamException(
          "cannot write calibration table " + abs + ": " + e + "; check that the folder is"
              + " writable and has space", e);
    }
  }

  /**
   * Reads a table written by {@link #write(Path)}.
   *
   * @throws QuantbeamException if the file is missing, unreadable, or not a valid table
   */
  public static CalibrationTable read(Path file) {
    byte[] data;
    try {
      data = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new QuantbeamException(
          "no calibration table at " + file + "; run calibration first or fix the path", e);
    } catch (IOException e) {
      throw new QuantbeamException("cannot read calibration table " + file + ": " + e, e);
    }
    try {
      return fromBytes(data);
    } catch (QuantbeamException e) {
      throw new QuantbeamException(file + ": " + e.getMessage(), e);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CalibrationTable
        && tensors.equals(((CalibrationTable) o).tensors)
        && metadata.equals(((CalibrationTable) o).metadata);
  }

  @Override
  public int hashCode() {
    return 31 * tensors.hashCode() + metadata.hashCode();
  }

  @Override
  public String toString() {
    return "CalibrationTable{tensors=" + tensors.size() + ", metadata=" + metadata + "}";
  }
}
