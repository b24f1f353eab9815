package io.quantbeam.transforms;

import ai.onnx.proto.OnnxMl.ModelProto;
import io.quantbeam.core.QuantbeamException;
import io.quantbeam.core.onnx.OnnxModelIO;
import io.quantbeam.core.stats.CalibrationTable;
import io.quantbeam.core.text.TextTokenizer;
import io.quantbeam.core.validate.ModelRunner;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.Serializable;

/**
 * The files a worker reads and writes (the float model, the tokenizer, calibration tables,
 * quantized models), named by {@link SharedFiles} specs.
 *
 * <p>A local path keeps quant-core's file loaders, with everything they support (external data
 * beside the model, models written with external data above 2 GB). Any other file system (HDFS,
 * S3, GCS) is read whole through Beam's {@code FileSystems} into memory and parsed from there: a
 * worker needs no shared disk, only the file system's client. Such a model must be one file
 * below 2 GB. Callers keep what they load in the worker's {@link SessionPool}, so each file is
 * read once per worker JVM while it is in use.
 */
public final class WorkerFiles {
  /** Appended to read errors on other file systems: what a user can do about them. */
  static final String VISIBILITY_HINT = " Every worker must be able to read it: on a cluster use a"
      + " shared file system (hdfs://, s3://, gs://) or a folder mounted at the same path on every"
      + " host.";

  private WorkerFiles() {}

  /** A file written by a worker: where it is, its SHA-256 and its size. */
  public record Written(String path, String sha256, long sizeBytes) implements Serializable {}

  /** The model at {@code spec}, parsed and checked (external data inlined for local files). */
  public static ModelProto loadModel(String spec) {
    if (SharedFiles.isLocal(spec)) {
      return OnnxModelIO.load(SharedFiles.localPath(spec));
    }
    return OnnxModelIO.load(read(spec, "ONNX model file"), spec);
  }

  /** The tokenizer at {@code spec}. */
  public static TextTokenizer loadTokenizer(String spec, int maxLength) {
    if (SharedFiles.isLocal(spec)) {
      return TextTokenizer.fromFile(SharedFiles.localPath(spec), maxLength);
    }
    return TextTokenizer.fromBytes(read(spec, "Tokenizer file"), spec, maxLength);
  }

  /** The calibration table at {@code spec}. */
  public static CalibrationTable readTable(String spec) {
    if (SharedFiles.isLocal(spec)) {
      return CalibrationTable.read(SharedFiles.localPath(spec));
    }
    byte[] bytes = read(spec, "Calibration table");
    try {
      return CalibrationTable.fromBytes(bytes);
    } catch (QuantbeamException e) {
      throw new QuantbeamException(spec + ": " + e.getMessage(), e);
    }
  }

  /** An ONNX Runtime runner on the model at {@code spec}; the caller closes it. */
  public static ModelRunner openRunner(String spec, int intraOpThreads) {
    if (SharedFiles.isLocal(spec)) {
      return new ModelRunner(SharedFiles.localPath(spec), intraOpThreads);
    }
    return new ModelRunner(read(spec, "ONNX model file"), spec, intraOpThreads);
  }

  /** The file's SHA-256. */
  public static String sha256(String spec) {
    if (SharedFiles.isLocal(spec)) {
      return OnnxModelIO.sha256(SharedFiles.localPath(spec));
    }
    return OnnxModelIO.sha256(read(spec, "File"));
  }

  /**
   * Writes {@code model} to {@code spec} through a temporary name (a reader never sees a partial
   * model). Locally with {@link OnnxModelIO#save}, which moves the weights of a model above 2 GB
   * to external data; elsewhere as one file.
   */
  public static Written writeModel(ModelProto model, String spec) {
    if (SharedFiles.isLocal(spec)) {
      java.nio.file.Path file = SharedFiles.localPath(spec);
      OnnxModelIO.save(model, file);
      try {
        return new Written(file.toString(), OnnxModelIO.sha256(file), java.nio.file.Files.size(file));
      } catch (IOException e) {
        throw new QuantbeamException("Cannot read back " + file + ": " + e, e);
      }
    }
    return write(OnnxModelIO.toBytes(model), spec, "ONNX model");
  }

  /** Writes {@code table} to {@code spec} through a temporary name. */
  public static Written writeTable(CalibrationTable table, String spec) {
    if (SharedFiles.isLocal(spec)) {
      java.nio.file.Path file = SharedFiles.localPath(spec);
      table.write(file);
      try {
        return new Written(file.toString(), OnnxModelIO.sha256(file), java.nio.file.Files.size(file));
      } catch (IOException e) {
        throw new QuantbeamException("Cannot read back " + file + ": " + e, e);
      }
    }
    return write(table.toBytes(), spec, "calibration table");
  }

  private static Written write(byte[] bytes, String spec, String what) {
    try {
      SharedFiles.writeAtomically(spec, bytes);
    } catch (IOException e) {
      throw new QuantbeamException("Cannot write " + what + " " + spec + ": " + e
          + ". Nothing was written; check the file system's space and permissions.", e);
    }
    return new Written(spec, OnnxModelIO.sha256(bytes), bytes.length);
  }

  private static byte[] read(String spec, String what) {
    try {
      return SharedFiles.readAllBytes(spec);
    } catch (FileNotFoundException e) {
      throw new QuantbeamException(what + " " + spec + " does not exist: check the path."
          + VISIBILITY_HINT, e);
    } catch (IOException e) {
      throw new QuantbeamException("Cannot read " + what.toLowerCase(java.util.Locale.ROOT) + " "
          + spec + ": " + e + "." + VISIBILITY_HINT, e);
    }
  }
}
