package io.quantbeam.transforms;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.parquet.avro.AvroParquetWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.io.LocalOutputFile;

/** Small Parquet files for tests: a nullable text column and a nullable int label column. */
public final class ParquetFiles {
  private ParquetFiles() {}

  /** Texts (null allowed) with labels 0, 1, 0, ... in column {@code text}. */
  public static Path write(Path file, List<String> texts) throws IOException {
    List<byte[]> raw = new ArrayList<>();
    for (String t : texts) {
      raw.add(t == null ? null : t.getBytes(StandardCharsets.UTF_8));
    }
    return writeBytes(file, "text", raw, false);
  }

  /**
   * Raw text bytes in column {@code column}: a Parquet string column when {@code asBytes} is
   * false, a plain binary one when true.
   */
  public static Path writeBytes(Path file, String column, List<byte[]> texts, boolean asBytes)
      throws IOException {
    Schema schema = SchemaBuilder.record("Example").fields()
        .name(column).type(asBytes ? SchemaBuilder.unionOf().nullType().and().bytesType().endUnion()
            : SchemaBuilder.unionOf().nullType().and().stringType().endUnion()).noDefault()
        .name("label").type().optional().intType()
        .endRecord();
    Files.createDirectories(file.toAbsolutePath().getParent());
    try (ParquetWriter<GenericRecord> w = AvroParquetWriter.<GenericRecord>builder(
        new LocalOutputFile(file)).withSchema(schema).build()) {
      for (int i = 0; i < texts.size(); i++) {
        GenericRecord r = new GenericData.Record(schema);
        byte[] b = texts.get(i);
        r.put(column, b == null ? null
            : asBytes ? ByteBuffer.wrap(b) : new org.apache.avro.util.Utf8(b));
        r.put("label", i % 2);
        w.write(r);
      }
    }
    return file;
  }

  /** Texts with the given labels, columns {@code text} and {@code label}. */
  public static Path writeLabeled(Path file, List<String> texts, int[] labels) throws IOException {
    Schema schema = SchemaBuilder.record("Example").fields()
        .name("text").type().stringType().noDefault()
        .name("label").type().intType().noDefault()
        .endRecord();
    Files.createDirectories(file.toAbsolutePath().getParent());
    try (ParquetWriter<GenericRecord> w = AvroParquetWriter.<GenericRecord>builder(
        new LocalOutputFile(file)).withSchema(schema).build()) {
      for (int i = 0; i < texts.size(); i++) {
        GenericRecord r = new GenericData.Record(schema);
        r.put("text", texts.get(i));
        r.put("label", labels[i]);
        w.write(r);
      }
    }
    return file;
  }

  /** The texts split round-robin over {@code n} files {@code part-i.parquet} in {@code dir}. */
  public static Path writeSharded(Path dir, List<String> texts, int n) throws IOException {
    for (int f = 0; f < n; f++) {
      List<String> part = new ArrayList<>();
      for (int i = f; i < texts.size(); i += n) {
        part.add(texts.get(i));
      }
      write(dir.resolve("part-" + f + ".parquet"), part);
    }
    return dir;
  }
}
