package io.quantbeam.transforms;

import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.text.LabeledText;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.util.Utf8;
import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.parquet.ParquetIO;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.Type;

/**
 * Reads examples (a text column and an optional integer label column) from Parquet files.
 *
 * <p>The columns are checked while the pipeline is built, on the footer of the first matching file:
 * a missing file or column fails at once, and the error lists the columns the file has. Rows whose
 * text is null, empty or blank, or whose bytes are not valid UTF-8, are skipped and counted
 * ({@value Counters#SKIPPED_EMPTY}, {@value Counters#SKIPPED_UNDECODABLE}). A row without a
 * label gets label {@code -1}.
 */
public final class ReadExamples extends PTransform<PBegin, PCollection<LabeledText>> {
  /** The option that names the calibration corpus, the default for messages. */
  public static final String CALIBRATION_OPTION = "--calibrationData";
  private final String filePattern;
  private final String textColumn;
  private final String labelColumn;
  private final String option;

  private ReadExamples(String filePattern, String textColumn, String labelColumn, String option) {
    this.filePattern = filePattern;
    this.textColumn = textColumn;
    this.labelColumn = labelColumn;
    this.option = option;
  }

  /** Texts from column {@code textColumn} of the Parquet files matching {@code filePattern}. */
  public static ReadExamples from(String filePattern, String textColumn) {
    if (filePattern == null || filePattern.isBlank()) {
      throw new QuantbeamException("No calibration data given: pass a Parquet file or pattern.");
    }
    if (textColumn == null || textColumn.isBlank()) {
      throw new QuantbeamException("The text column name must not be empty.");
    }
    return new ReadExamples(filePattern, textColumn, null, CALIBRATION_OPTION);
  }

  /** Also reads integer labels from {@code labelColumn} (null or empty: none). */
  public ReadExamples withLabelColumn(String column) {
    return new ReadExamples(filePattern, textColumn,
        column == null || column.isBlank() ? null : column, option);
  }

  /**
   * The command-line option that named the files (e.g. {@code --validationData}): errors name it,
   * so that a user with several inputs knows which one to fix.
   */
  public ReadExamples forOption(String optionName) {
    return new ReadExamples(filePattern, textColumn, labelColumn, optionName);
  }

  /** "validation data" for {@code --validationData}: the option's words, for messages. */
  static String noun(String option) {
    String name = option.replaceFirst("^--", "");
    return name.replaceAll("([a-z])([A-Z])", "$1 $2").toLowerCase(java.util.Locale.ROOT);
  }

  @Override
  public PCollection<LabeledText> expand(PBegin input) {
    FileSystems.setDefaultPipelineOptions(input.getPipeline().getOptions());
    checkColumns();
    return input
        .apply("ReadParquet", ParquetIO.parseGenericRecords(
                new RawColumns(textColumn, labelColumn))
            .from(filePattern)
            .withCoder(KvCoder.of(NullableCoder.of(ByteArrayCoder.of()),
                NullableCoder.of(VarIntCoder.of()))))
        .apply("DecodeText", ParDo.of(new DecodeText()))
        .setCoder(Coders.LabeledTextCoder.of());
  }

  /**
   * When {@code failure} (a pipeline that read {@code filePattern} failed) comes from the Parquet
   * reader, which does not name the file: a clear error naming the corrupt file(s), found by
   * reading every page of each matching file again on this machine. Null when the failure is not
   * the Parquet reader's.
   */
  public static QuantbeamException explainReadFailure(String filePattern, String option,
      Throwable failure) {
    Throwable parquet = null;
    for (Throwable t = failure; t != null && parquet == null; t = t.getCause()) {
      if (t.getClass().getName().contains("parquet")) {
        parquet = t;
      }
      for (StackTraceElement frame : t.getStackTrace()) {
        if (frame.getClassName().startsWith("org.apache.parquet.")) {
          parquet = t;
          break;
        }
      }
    }
    if (parquet == null) {
      return null;
    }
    List<String> corrupt = new java.util.ArrayList<>();
    String firstError = null;
    try {
      for (var file : ParquetFooter.match(filePattern, option)) {
        Exception e = ParquetFooter.readAllPages(file);
        if (e != null) {
          corrupt.add(file.resourceId().toString());
          if (firstError == null) {
            firstError = String.valueOf(e.getMessage());
          }
        }
      }
    } catch (QuantbeamException e) {
      // the files changed or vanished meanwhile: fall through to the general message
    }
    if (!corrupt.isEmpty()) {
      return new QuantbeamException("Parquet file " + String.join(", ", corrupt) + " ("
          + option + ")" + (corrupt.size() == 1 ? " is" : " are") + " corrupt and cannot be read ("
          + firstError + "). Replace or remove " + (corrupt.size() == 1 ? "it" : "them")
          + "; nothing was written.", failure);
    }
    return new QuantbeamException("Reading the Parquet files matching " + filePattern + " ("
        + option + ") failed: " + parquet.getMessage() + ". One of them is corrupt (damaged pages"
        + " or values); replace or remove it; nothing was written.", failure);
  }

  private void checkColumns() {
    var first = ParquetFooter.match(filePattern, option).get(0);
    MessageType schema = ParquetFooter.schema(first, option);
    List<String> columns = ParquetFooter.columns(schema);
    for (String needed : labelColumn == null ? List.of(textColumn)
        : List.of(textColumn, labelColumn)) {
      if (!schema.containsField(needed)) {
        throw new QuantbeamException("Column '" + needed + "' is not in " + first.resourceId()
            + " (" + option + "); its columns are " + columns + ". Name the right one with --textColumn"
            + (labelColumn == null ? "" : " / --labelColumn") + ".");
      }
    }
    Type text = schema.getType(textColumn);
    if (!text.isPrimitive()
        || text.asPrimitiveType().getPrimitiveTypeName()
            != org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName.BINARY) {
      throw new QuantbeamException("Column '" + textColumn + "' of " + first.resourceId()
          + " (" + option + ") is " + text + ", not a string column; its columns are " + columns + ".");
    }
  }

  /** A record's raw text bytes and label, nulls kept: judging them is the next step's job. */
  static final class RawColumns implements SerializableFunction<GenericRecord, KV<byte[], Integer>> {
    private final String textColumn;
    private final String labelColumn;

    RawColumns(String textColumn, String labelColumn) {
      this.textColumn = textColumn;
      this.labelColumn = labelColumn;
    }

    @Override
    public KV<byte[], Integer> apply(GenericRecord record) {
      Integer label = null;
      if (labelColumn != null && record.get(labelColumn) instanceof Number n) {
        label = n.intValue();
      }
      return KV.of(bytesOf(record.get(textColumn)), label);
    }

    private static byte[] bytesOf(Object value) {
      if (value == null) {
        return null;
      }
      if (value instanceof Utf8 u) {
        return Arrays.copyOf(u.getBytes(), u.getByteLength());
      }
      if (value instanceof ByteBuffer b) {
        ByteBuffer d = b.duplicate();
        byte[] out = new byte[d.remaining()];
        d.get(out);
        return out;
      }
      return value.toString().getBytes(StandardCharsets.UTF_8);
    }
  }

  /** Strict UTF-8 decoding; skips and counts empty and undecodable texts. */
  static final class DecodeText extends DoFn<KV<byte[], Integer>, LabeledText> {
    private final Counter rows = Counters.counter(Counters.ROWS_READ);
    private final Counter empty = Counters.counter(Counters.SKIPPED_EMPTY);
    private final Counter undecodable = Counters.counter(Counters.SKIPPED_UNDECODABLE);

    @ProcessElement
    public void process(@Element KV<byte[], Integer> row, OutputReceiver<LabeledText> out) {
      rows.inc();
      byte[] bytes = row.getKey();
      if (bytes == null || bytes.length == 0) {
        empty.inc();
        return;
      }
      String text;
      try {
        CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .decode(ByteBuffer.wrap(bytes));
        text = chars.toString();
      } catch (CharacterCodingException e) {
        undecodable.inc();
        return;
      }
      if (text.isBlank()) { // the one-machine API skips blank texts too
        empty.inc();
        return;
      }
      out.output(new LabeledText(text, row.getValue() == null ? -1 : row.getValue()));
    }
  }
}
