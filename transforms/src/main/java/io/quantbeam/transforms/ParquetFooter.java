package io.quantbeam.transforms;

import io.quantbeam.core.QuantbeamException;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.io.DelegatingSeekableInputStream;
import org.apache.parquet.io.InputFile;
import org.apache.parquet.io.SeekableInputStream;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.Type;

/**
 * Reads the schema of a Parquet file through Beam's file systems (any scheme Beam knows), so that
 * a pipeline can check its columns while it is being built, before any worker starts.
 */
final class ParquetFooter {
  private ParquetFooter() {}

  /**
   * The files a pattern matches, sorted by name; a clear error naming {@code option} (the
   * command-line option that gave the pattern) when there are none.
   */
  static List<MatchResult.Metadata> match(String pattern, String option) {
    String what = ReadExamples.noun(option);
    MatchResult result;
    try {
      result = FileSystems.match(pattern, EmptyMatchTreatment.ALLOW);
    } catch (IOException e) {
      throw new QuantbeamException("Cannot list " + what + " " + pattern + " (" + option
            + "): " + e, e);
    }
    List<MatchResult.Metadata> files = new ArrayList<>();
    if (result.status() == MatchResult.Status.OK) {
      try {
        files.addAll(result.metadata());
      } catch (IOException e) {
        throw new QuantbeamException("Cannot list " + what + " " + pattern + " (" + option
            + "): " + e, e);
      }
    }
    if (files.isEmpty()) {
      throw new QuantbeamException("No " + what + " file matches '" + pattern + "' (" + option
          + "): check the path (a Parquet file, or a glob such as 'data/*.parquet').");
    }
    files.sort(Comparator.comparing(m -> m.resourceId().toString()));
    return files;
  }

  /** The Parquet schema in the footer of one file; the error names {@code option}. */
  static MessageType schema(MatchResult.Metadata file, String option) {
    InputFile in = inputFile(file);
    try (ParquetFileReader reader = ParquetFileReader.open(in)) {
      return reader.getFooter().getFileMetaData().getSchema();
    } catch (IOException | RuntimeException e) {
      throw new QuantbeamException("Cannot read the Parquet footer of " + file.resourceId()
          + " (" + option + "): " + e.getMessage() + ". Is it a Parquet file? Pass a Parquet"
          + " file (or a glob of them) with " + option + ".", e);
    }
  }

  private static InputFile inputFile(MatchResult.Metadata file) {
    return new InputFile() {
      @Override
      public long getLength() {
        return file.sizeBytes();
      }

      @Override
      public SeekableInputStream newStream() throws IOException {
        SeekableByteChannel ch = (SeekableByteChannel) FileSystems.open(file.resourceId());
        return new DelegatingSeekableInputStream(Channels.newInputStream(ch)) {
          @Override
          public long getPos() throws IOException {
            return ch.position();
          }

          @Override
          public void seek(long newPos) throws IOException {
            ch.position(newPos);
          }
        };
      }
    };
  }

  /**
   * Reads every page of every row group of {@code file} (headers and bytes, not the values):
   * null when that works, else the error.
   */
  static Exception readAllPages(MatchResult.Metadata file) {
    try (ParquetFileReader reader = ParquetFileReader.open(inputFile(file))) {
      while (reader.readNextRowGroup() != null) {
        // reading the row group reads and checks its page headers
      }
      return null;
    } catch (Exception e) {
      return e;
    }
  }

  static List<String> columns(MessageType schema) {
    List<String> names = new ArrayList<>();
    for (Type t : schema.getFields()) {
      names.add(t.getName());
    }
    return names;
  }
}
