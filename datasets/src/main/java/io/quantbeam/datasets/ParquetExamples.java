package io.quantbeam.datasets;

import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.text.LabeledText;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.avro.AvroParquetWriter;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.io.LocalOutputFile;

/**
 * Parquet files of examples: a required string column {@code text} and an optional int column
 * {@code label} (null when unlabeled), the layout every Quantbeam pipeline reads. Written through
 * parquet-avro with local files (no Hadoop file system), GZIP-compressed (pure Java: no native
 * codec to load), to a temporary name renamed into place.
 */
public final class ParquetExamples {
  public static final String TEXT = "text";
  public static final String LABEL = "label";
  public static final Schema SCHEMA = SchemaBuilder.record("Example")
      .namespace("io.quantbeam.datasets").fields()
      .requiredString(TEXT)
      .optionalInt(LABEL)
      .endRecord();

  private ParquetExamples() {}

  /** Writes {@code rows} to {@code out}; a label below 0 is written as null (unlabeled). */
  public static void write(Path out, List<LabeledText> rows) {
    Path dir = out.toAbsolutePath().getParent();
    Path tmp = dir.resolve("." + out.getFileName() + ".tmp");
    try {
      Files.createDirectories(dir);
      Files.deleteIfExists(tmp);
      try (ParquetWriter<GenericRecord> writer =
          AvroParquetWriter.<GenericRecord>builder(new LocalOutputFile(tmp))
              .withSchema(SCHEMA)
              .withCompressionCodec(CompressionCodecName.GZIP)
              .withDataModel(GenericData.get())
              .build()) {
        for (LabeledText row : rows) {
          GenericRecord r = new GenericData.Record(SCHEMA);
          r.put(TEXT, row.text());
          r.put(LABEL, row.label() < 0 ? null : row.label());
          writer.write(r);
        }
      }
      Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // the original failure is the one to report
      }
      throw new QuantbeamException("Could not write " + out + ": " + e.getMessage(), e);
    }
  }

  /**
   * Splits {@code rows} into {@code shards} contiguous files named
   * {@code prefix-00000-of-00007.parquet}; returns their paths.
   */
  public static List<Path> writeShards(Path dir, String prefix, List<LabeledText> rows,
      int shards) {
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
      throw new QuantbeamException("No Parquet file at " + file);
    }
    List<LabeledText> rows = new ArrayList<>();
    try (ParquetReader<GenericRecord> reader =
        AvroParquetReader.<GenericRecord>builder(new LocalInputFile(file))
            .withDataModel(GenericData.get()).build()) {
      for (GenericRecord r = reader.read(); r != null; r = reader.read()) {
        Object label = r.get(LABEL);
        rows.add(new LabeledText(r.get(TEXT).toString(),
            label == null ? -1 : ((Number) label).intValue()));
      }
    } catch (IOException | RuntimeException e) {
      throw new QuantbeamException("Could not read " + file + " as a Parquet file of examples"
          + " (columns text, label): " + e.getMessage(), e);
    }
    return rows;
  }
}
