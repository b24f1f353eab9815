package io.quantbeam.datasets;

import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.text.LabeledText;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.avro.AvroParquetWriter;
import org.apache.parquet.format.ColumnChunk;
import org.apache.parquet.format.ColumnMetaData;
import org.apache.parquet.format.Encoding;
import org.apache.parquet.format.FileMetaData;
import org.apache.parquet.format.KeyValue;
import org.apache.parquet.format.PageEncodingStats;
import org.apache.parquet.format.RowGroup;
import org.apache.parquet.format.Util;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.io.LocalOutputFile;

/**
 * Parquet files of examples: a required UTF-8 string column {@code text} and an optional int
 * column {@code label} (null when unlabeled), the layout every Quantbeam pipeline reads.
 *
 * <p>Written through parquet-avro on local files (no Hadoop file system), GZIP-compressed: the
 * codec falls back to {@code java.util.zip}, so no native library is needed (Snappy would need
 * snappy-java's bundled native library). A file is written under a temporary name in the target
 * folder and renamed into place, so a reader never sees half a file.
 *
 * <p>Writes are deterministic: the same rows give the same bytes, in any JVM. parquet-mr collects
 * each column chunk's encodings in a hash set of enums, whose order follows identity hash codes
 * and so changes from one JVM run to the next; {@link #write} therefore rewrites the footer with
 * those lists sorted (same elements, so the footer keeps its length and every offset stays valid).
 * Nothing time-dependent is written.
 */
public final class ParquetExamples {
  public static final String TEXT = "text";
  public static final String LABEL = "label";
  public static final CompressionCodecName CODEC = CompressionCodecName.GZIP;
  public static final Schema SCHEMA = SchemaBuilder.record("Example")
      .namespace("io.quantbeam.datasets").fields()
      .requiredString(TEXT)
      .optionalInt(LABEL)
      .endRecord();

  private static final byte[] MAGIC = "PAR1".getBytes(StandardCharsets.US_ASCII);

  private ParquetExamples() {}

  /**
   * Writes {@code rows} to {@code out} (replacing it); a label below 0 is written as null
   * (unlabeled).
   */
  public static void write(Path out, List<LabeledText> rows) {
    Path target = out.toAbsolutePath();
    Path dir = target.getParent();
    Path tmp = dir.resolve("." + target.getFileName() + ".tmp");
    try {
      Files.createDirectories(dir);
      Files.deleteIfExists(tmp);
      try (ParquetWriter<GenericRecord> writer =
          AvroParquetWriter.<GenericRecord>builder(new LocalOutputFile(tmp))
              .withSchema(SCHEMA)
              .withCompressionCodec(CODEC)
              .withDataModel(GenericData.get())
              .build()) {
        for (LabeledText row : rows) {
          GenericRecord r = new GenericData.Record(SCHEMA);
          r.put(TEXT, row.text());
          r.put(LABEL, row.label() < 0 ? null : row.label());
          writer.write(r);
        }
      }
      normalizeFooter(tmp);
      io.quantbeam.core.AtomicFiles.moveIntoPlace(tmp, target);
    } catch (IOException | RuntimeException e) {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // the original failure is the one to report
      }
      throw new QuantbeamException("Could not write " + out + ": " + e
          + ". Check that the folder is writable and has free space.", e);
    }
  }

  /**
   * Splits {@code rows} into {@code shards} contiguous, nearly equal files named
   * {@code prefix-00000-of-00007.parquet} .. {@code prefix-00006-of-00007.parquet} in {@code dir};
   * reading them in name order gives {@code rows} back. Returns their paths in that order.
   */
  public static List<Path> writeShards(Path dir, String prefix, List<LabeledText> rows,
      int shards) {
    if (shards < 1 || shards > 99_999) {
      throw new QuantbeamException("Shard count must be between 1 and 99999, got " + shards
          + "; pass e.g. 1 for a single file.");
    }
    if (prefix == null || prefix.isEmpty() || prefix.contains("/") || prefix.contains("\\")) {
      throw new QuantbeamException("Shard prefix must be a non-empty file name without '/', got '"
          + prefix + "'; pass the folder as dir and a name such as 'train' as prefix.");
    }
    List<Path> files = new ArrayList<>();
    for (int s = 0; s < shards; s++) {
      int from = (int) ((long) rows.size() * s / shards);
      int to = (int) ((long) rows.size() * (s + 1) / shards);
      Path file = dir.resolve(String.format(Locale.ROOT, "%s-%05d-of-%05d.parquet", prefix, s,
          shards));
      write(file, rows.subList(from, to));
      files.add(file);
    }
    return files;
  }

  /** Reads a whole file (for tests and small sets); a null label reads as -1. */
  public static List<LabeledText> read(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new QuantbeamException("No Parquet file at " + file
          + "; check the path (the committed data sets are under datasets/ of the repository).");
    }
    List<LabeledText> rows = new ArrayList<>();
    try (ParquetReader<GenericRecord> reader =
        AvroParquetReader.<GenericRecord>builder(new LocalInputFile(file))
            .withDataModel(GenericData.get()).build()) {
      for (GenericRecord r = reader.read(); r != null; r = reader.read()) {
        Object text = r.get(TEXT);
        if (text == null) {
          throw new QuantbeamException("Row " + rows.size() + " of " + file
              + " has no 'text' column value; write files with ParquetExamples.write.");
        }
        Object label = r.get(LABEL);
        rows.add(new LabeledText(text.toString(),
            label == null ? -1 : ((Number) label).intValue()));
      }
    } catch (QuantbeamException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      throw new QuantbeamException("Could not read " + file + " as a Parquet file of examples"
          + " (columns text: string, label: optional int): " + e
          + ". Re-create it with ParquetExamples.write or ConvertDatasets.", e);
    }
    return rows;
  }

  /**
   * Sorts the hash-ordered lists in the footer of {@code file} (encodings and encoding stats of
   * every column chunk, key-value metadata by key) and writes it back in place. Sorting keeps
   * the elements, so the Thrift-encoded footer keeps its exact length.
   */
  static void normalizeFooter(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      long size = ch.size();
      ByteBuffer tail = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, tail, size - 8);
      int footerLength = tail.getInt(0);
      byte[] magic = new byte[4];
      tail.position(4);
      tail.get(magic);
      long footerStart = size - 8 - footerLength;
      if (!java.util.Arrays.equals(magic, MAGIC) || footerLength <= 0 || footerStart < 4) {
        throw new IOException("not a Parquet file (bad footer)");
      }
      ByteBuffer footer = ByteBuffer.allocate(footerLength);
      readFully(ch, footer, footerStart);
      FileMetaData meta = Util.readFileMetaData(new ByteArrayInputStream(footer.array()));
      for (RowGroup group : meta.getRow_groups()) {
        for (ColumnChunk chunk : group.getColumns()) {
          ColumnMetaData column = chunk.getMeta_data();
          if (column == null) {
            continue;
          }
          if (column.getEncodings() != null) {
            List<Encoding> encodings = new ArrayList<>(column.getEncodings());
            encodings.sort(Comparator.comparingInt(Encoding::getValue));
            column.setEncodings(encodings);
          }
          if (column.getEncoding_stats() != null) {
            List<PageEncodingStats> stats = new ArrayList<>(column.getEncoding_stats());
            stats.sort(Comparator.comparingInt((PageEncodingStats s) -> s.getPage_type().getValue())
                .thenComparingInt(s -> s.getEncoding().getValue()));
            column.setEncoding_stats(stats);
          }
        }
      }
      if (meta.getKey_value_metadata() != null) {
        List<KeyValue> keyValues = new ArrayList<>(meta.getKey_value_metadata());
        keyValues.sort(Comparator.comparing(KeyValue::getKey));
        meta.setKey_value_metadata(keyValues);
      }
      ByteArrayOutputStream rewritten = new ByteArrayOutputStream(footerLength);
      Util.writeFileMetaData(meta, rewritten);
      if (rewritten.size() != footerLength) {
        throw new IOException("footer changed length when normalized (" + footerLength + " -> "
            + rewritten.size() + " bytes)");
      }
      ByteBuffer out = ByteBuffer.wrap(rewritten.toByteArray());
      while (out.hasRemaining()) {
        ch.write(out, footerStart + out.position());
      }
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
    while (buf.hasRemaining()) {
      if (ch.read(buf, position + buf.position()) < 0) {
        throw new IOException("unexpected end of file");
      }
    }
  }
}
