package io.quantbeam.core.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.quantbeam.core.AtomicFiles;
import io.quantbeam.core.QuantbeamException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Reading and writing ONNX models.
 *
 * <p>{@link #load} parses a model file and pulls every tensor stored as external data (initializers
 * and Constant-node tensors, in the main graph and in subgraphs) into the model's {@code raw_data},
 * so the returned {@link ModelProto} is self-contained. External locations must stay inside the
 * model's folder.
 *
 * <p>{@link #save} writes through a temporary file in the target folder and renames it into place,
 * so a failed save leaves no half-written model behind. Models whose serialized size would pass
 * protobuf's 2 GB limit, or any model saved with an explicit threshold, get their large
 * initializers moved into one external data file {@code <model file name>.data} beside the model.
 */
public final class OnnxModelIO {
  /** protobuf cannot serialize or parse a message of 2 GiB or more; keep a margin. */
  static final long PROTOBUF_LIMIT_BYTES = (1L << 31) - (64L << 20);

  /** Threshold used when a model has to be split only because of the 2 GB limit. */
  public static final long DEFAULT_EXTERNAL_THRESHOLD_BYTES = 1024;

  /** Offsets of tensors inside the external data file are multiples of this. */
  static final int EXTERNAL_ALIGNMENT = 4096;


  private OnnxModelIO() {}

  // ------------------------------------------------------------------------------------------
  // load

  /** Parses {@code model} and inlines all of its external data. */
  public static ModelProto load(Path model) {
    if (model == null) {
      throw new QuantbeamException("No ONNX model path given");
    }
    if (!Files.exists(model)) {
      throw new QuantbeamException(
          "ONNX model file " + model.toAbsolutePath() + " does not exist: check the path");
    }
    if (!Files.isRegularFile(model)) {
      throw new QuantbeamException(
          "ONNX model path " + model.toAbsolutePath() + " is not a regular file: pass the .onnx file itself");
    }
    long size;
    try {
      size = Files.size(model);
    } catch (IOException e) {
      throw new QuantbeamException("Cannot read ONNX model file " + model.toAbsolutePath() + ": " + e, e);
    }
    if (size >= Integer.MAX_VALUE) {
      throw new QuantbeamException(
          "ONNX model file " + model.toAbsolutePath() + " is " + size + " bytes, above protobuf's 2 GB limit;"
              + " a valid ONNX file this large cannot exist: re-export it with its weights as external data");
    }
    byte[] bytes;
    try {
      bytes = readInChunks(model, (int) size);
    } catch (IOException e) {
      throw new QuantbeamException("Cannot read ONNX model file " + model.toAbsolutePath() + ": " + e, e);
    }
    ModelProto parsed = parseChecked(bytes, model.toAbsolutePath().toString());
    Path folder = model.toAbsolutePath().getParent();
    if (!hasExternalData(parsed.getGraph())) {
      return parsed;
    }
    ExternalReader reader = new ExternalReader(model.toAbsolutePath(), folder);
    GraphProto graph = mapTensors(parsed.getGraph(), reader::inline);
    return parsed.toBuilder().setGraph(graph).build();
  }

  /**
   * Parses a model held in memory (read from a shared file system by a worker): the checks and
   * messages of {@link #load(Path)}. A model that keeps weights as external data is refused, since
   * its data files are found only beside a local model file.
   *
   * @param name where the bytes came from, for messages
   */
  public static ModelProto load(byte[] bytes, String name) {
    ModelProto parsed = parseChecked(bytes, name);
    if (hasExternalData(parsed.getGraph())) {
      throw new QuantbeamException("ONNX model " + name + " keeps weights as external data, which"
          + " is read only from a local folder: copy the model with its data files to a local disk,"
          + " or export it as one file (below 2 GB)");
    }
    return parsed;
  }

  /** The protobuf parse and the required-field checks of a whole model file's bytes. */
  private static ModelProto parseChecked(byte[] bytes, String name) {
    ModelProto parsed;
    try {
      parsed = ModelProto.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new QuantbeamException(
          "File " + name + " is not a valid ONNX model (" + bytes.length + " bytes; protobuf parse failed: "
              + e.getMessage() + "). It is truncated or not an ONNX file: download or export it again", e);
    }
    List<String> missing = new ArrayList<>();
    if (parsed.getIrVersion() <= 0) {
      missing.add("ir_version");
    }
    if (!parsed.hasGraph()) {
      missing.add("graph");
    }
    if (parsed.getOpsetImportCount() == 0) {
      missing.add("opset_import");
    }
    if (!missing.isEmpty()) {
      throw new QuantbeamException(
          "File " + name + " is not a valid ONNX model (" + bytes.length + " bytes): it has no "
              + String.join(", no ", missing)
              + ". It is truncated or not an ONNX file: download or export it again");
    }
    return parsed;
  }

  /**
   * The file's bytes, read 1 MB at a time through a plain stream: {@code Files.readAllBytes} goes
   * through a temporary direct buffer as large as the file, which a JVM with a small direct-memory
   * budget (a Flink TaskManager) refuses for a 90 MB model.
   */
  private static byte[] readInChunks(Path file, int size) throws IOException {
    byte[] bytes = new byte[size];
    try (java.io.InputStream in = new java.io.FileInputStream(file.toFile())) {
      int off = 0;
      while (off < size) {
        int n = in.read(bytes, off, Math.min(1 << 20, size - off));
        if (n < 0) {
          throw new IOException("the file shrank while being read (" + off + " of " + size
              + " bytes)");
        }
        off += n;
      }
      if (in.read() >= 0) {
        throw new IOException("the file grew while being read");
      }
    }
    return bytes;
  }

  private static boolean hasExternalData(GraphProto g) {
    for (TensorProto t : g.getInitializerList()) {
      if (isExternal(t)) {
        return true;
      }
    }
    for (NodeProto n : g.getNodeList()) {
      for (AttributeProto a : n.getAttributeList()) {
        if (a.hasT() && isExternal(a.getT())) {
          return true;
        }
        for (TensorProto t : a.getTensorsList()) {
          if (isExternal(t)) {
            return true;
          }
        }
        if (a.hasG() && hasExternalData(a.getG())) {
          return true;
        }
        for (GraphProto sub : a.getGraphsList()) {
          if (hasExternalData(sub)) {
            return true;
          }
        }
      }
    }
    return false;
  }

  static boolean isExternal(TensorProto t) {
    return t.getDataLocation() == TensorProto.DataLocation.EXTERNAL;
  }

  /** Applies {@code f} to every tensor in the graph: initializers, node attributes, subgraphs. */
  static GraphProto mapTensors(GraphProto g, UnaryOperator<TensorProto> f) {
    GraphProto.Builder b = g.toBuilder();
    for (int i = 0; i < b.getInitializerCount(); i++) {
      b.setInitializer(i, f.apply(b.getInitializer(i)));
    }
    for (int i = 0; i < b.getNodeCount(); i++) {
      NodeProto n = b.getNode(i);
      boolean touched = false;
      NodeProto.Builder nb = n.toBuilder();
      for (int j = 0; j < nb.getAttributeCount(); j++) {
        AttributeProto a = nb.getAttribute(j);
        if (!a.hasT() && a.getTensorsCount() == 0 && !a.hasG() && a.getGraphsCount() == 0) {
          continue;
        }
        AttributeProto.Builder ab = a.toBuilder();
        if (a.hasT()) {
          ab.setT(f.apply(a.getT()));
        }
        for (int k = 0; k < a.getTensorsCount(); k++) {
          ab.setTensors(k, f.apply(a.getTensors(k)));
        }
        if (a.hasG()) {
          ab.setG(mapTensors(a.getG(), f));
        }
        for (int k = 0; k < a.getGraphsCount(); k++) {
          ab.setGraphs(k, mapTensors(a.getGraphs(k), f));
        }
        nb.setAttribute(j, ab.build());
        touched = true;
      }
      if (touched) {
        b.setNode(i, nb.build());
      }
    }
    return b.build();
  }

  /** Reads external tensor data relative to the model's folder, refusing anything outside it. */
  private static final class ExternalReader {
    private final Path model;
    private final Path folder;
    private Path realFolder;

    ExternalReader(Path model, Path folder) {
      this.model = model;
      this.folder = folder;
    }

    TensorProto inline(TensorProto t) {
      if (!isExternal(t)) {
        return t;
      }
      String location = null;
      long offset = 0;
      long length = -1;
      for (StringStringEntryProto e : t.getExternalDataList()) {
        switch (e.getKey()) {
          case "location" -> location = e.getValue();
          case "offset" -> offset = parseLong(t, e);
          case "length" -> length = parseLong(t, e);
          default -> {
            // "checksum" and unknown keys are ignored
          }
        }
      }
      if (location == null || location.isEmpty()) {
        throw new QuantbeamException(
            "Tensor '" + t.getName() + "' in " + model + " is marked as external data but has no 'location' entry:"
                + " the model file is corrupt; export it again");
      }
      if (t.getDataType() == TensorProto.DataType.STRING_VALUE) {
        throw new QuantbeamException(
            "Tensor '" + t.getName() + "' in " + model + " is a string tensor stored as external data, which ONNX"
                + " does not allow: export it again with the tensor inline");
      }
      Path file = resolveInside(t, location);
      if (offset < 0 || length < -1) {
        throw new QuantbeamException(
            "Tensor '" + t.getName() + "' in " + model + " has a negative external data offset or length:"
                + " the model file is corrupt; export it again");
      }
      long fileSize;
      try {
        fileSize = Files.size(file);
      } catch (IOException e) {
        throw new QuantbeamException("Cannot read external data file " + file + " of tensor '" + t.getName()
            + "' (model " + model + "): " + e, e);
      }
      long len = length >= 0 ? length : fileSize - offset;
      if (offset + len > fileSize || len < 0) {
        throw new QuantbeamException(
            "External data file " + file + " is too short for tensor '" + t.getName() + "' of model " + model
                + ": it needs bytes [" + offset + ", " + (offset + Math.max(len, 0)) + ") but the file has " + fileSize
                + " bytes. The data file is truncated or belongs to another model: copy it again next to the model");
      }
      if (len > Integer.MAX_VALUE - 8) {
        throw new QuantbeamException("Tensor '" + t.getName() + "' of model " + model + " holds " + len
            + " bytes of external data; one tensor above 2 GB is not supported");
      }
      byte[] data = new byte[(int) len];
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
        ByteBuffer buf = ByteBuffer.wrap(data);
        long pos = offset;
        while (buf.hasRemaining()) {
          int r = ch.read(buf, pos);
          if (r < 0) {
            throw new QuantbeamException("External data file " + file + " ended early while reading tensor '"
                + t.getName() + "' of model " + model + ": copy the data file again");
          }
          pos += r;
        }
      } catch (IOException e) {
        throw new QuantbeamException("Cannot read external data file " + file + " of tensor '" + t.getName()
            + "' (model " + model + "): " + e, e);
      }
      return t.toBuilder()
          .clearExternalData()
          .clearDataLocation()
          .setRawData(ByteString.copyFrom(data))
          .build();
    }

    private long parseLong(TensorProto t, StringStringEntryProto e) {
      try {
        return Long.parseLong(e.getValue().trim());
      } catch (NumberFormatException ex) {
        throw new QuantbeamException("Tensor '" + t.getName() + "' in " + model + " has external data "
            + e.getKey() + " '" + e.getValue() + "', which is not a number: the model file is corrupt; export it again");
      }
    }

    private Path resolveInside(TensorProto t, String location) {
      String what = "Tensor '" + t.getName() + "' of model " + model + " points to external data '" + location + "'";
      String fix = ": external data must be a relative path inside the model's folder " + folder
          + "; move the data file next to the model and fix the location";
      if (location.startsWith("/") || location.startsWith("\\") || location.indexOf('\0') >= 0
          || (location.length() > 1 && location.charAt(1) == ':' && Character.isLetter(location.charAt(0)))) {
        throw new QuantbeamException(what + ", an absolute path" + fix);
      }
      for (String segment : location.split("[/\\\\]")) {
        if (segment.equals("..")) {
          throw new QuantbeamException(what + ", which leaves the model's folder through '..'" + fix);
        }
      }
      Path file;
      try {
        file = folder.resolve(location).normalize();
      } catch (RuntimeException e) {
        throw new QuantbeamException(what + ", which is not a valid path" + fix, e);
      }
      if (file.isAbsolute() && !file.startsWith(folder)) {
        throw new QuantbeamException(what + ", outside the model's folder" + fix);
      }
      if (!Files.exists(file)) {
        throw new QuantbeamException("External data file " + file + " of tensor '" + t.getName() + "' (model "
            + model + ") does not exist: copy the model's data file(s) next to the model");
      }
      try {
        if (realFolder == null) {
          realFolder = folder.toRealPath();
        }
        Path real = file.toRealPath();
        if (!real.startsWith(realFolder)) {
          throw new QuantbeamException(what + ", which resolves (through a symbolic link) to " + real
              + ", outside the model's folder" + fix);
        }
        if (!Files.isRegularFile(real)) {
          throw new QuantbeamException(what + ", which is not a regular file" + fix);
        }
        return real;
      } catch (NoSuchFileException e) {
        throw new QuantbeamException("External data file " + file + " of tensor '" + t.getName() + "' (model "
            + model + ") does not exist (dangling link?): copy the model's data file(s) next to the model", e);
      } catch (IOException e) {
        throw new QuantbeamException("Cannot resolve external data file " + file + " of tensor '" + t.getName()
            + "' (model " + model + "): " + e, e);
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // save

  /**
   * Writes {@code model} to {@code out} atomically. Initializers stay inline unless the model would
   * pass protobuf's 2 GB limit; then those above {@link #DEFAULT_EXTERNAL_THRESHOLD_BYTES} go into
   * {@code <out file name>.data}.
   */
  public static void save(ModelProto model, Path out) {
    save(model, out, -1);
  }

  /**
   * Writes {@code model} to {@code out} atomically, moving every initializer whose data is larger
   * than {@code externalDataThresholdBytes} bytes into the external data file
   * {@code <out file name>.data} beside it (location relative, offsets aligned to 4096 bytes).
   * A negative threshold means "inline, unless the 2 GB limit forces external data".
   *
   * <p>The data file is written to a temporary file and renamed into place before the model file
   * is. When no tensor goes external, no data file is written and an older {@code .data} file
   * from a previous save is left alone (the new model does not refer to it).
   */
  public static void save(ModelProto model, Path out, long externalDataThresholdBytes) {
    save(model, out, externalDataThresholdBytes, PROTOBUF_LIMIT_BYTES);
  }

  /** {@link #save(ModelProto, Path, long)} with the size limit as a parameter (tests use a small one). */
  static void save(ModelProto model, Path out, long externalDataThresholdBytes, long sizeLimit) {
    if (model == null || out == null) {
      throw new QuantbeamException("save needs a model and an output path");
    }
    if (hasExternalData(model.getGraph())) {
      throw new QuantbeamException("Model to be saved as " + out + " still refers to external data files;"
          + " read it with OnnxModelIO.load, which inlines the data, before saving it elsewhere");
    }
    Path target = out.toAbsolutePath();
    Path folder = target.getParent();
    if (target.getFileName() == null || folder == null) {
      throw new QuantbeamException("Output path " + out + " has no file name: give a path like dir/model.onnx");
    }
    if (Files.isDirectory(target)) {
      throw new QuantbeamException("Output path " + target + " is a directory: give a file path like "
          + target.resolve("model.onnx"));
    }
    try {
      Files.createDirectories(folder);
    } catch (IOException e) {
      throw new QuantbeamException("Cannot create output folder " + folder + ": " + e, e);
    }

    long threshold = externalDataThresholdBytes;
    if (threshold < 0 && estimateSerializedSize(model) > sizeLimit) {
      threshold = DEFAULT_EXTERNAL_THRESHOLD_BYTES;
    }
    String dataName = target.getFileName() + ".data";
    Path dataTarget = folder.resolve(dataName);

    Path modelTmp = null;
    Path dataTmp = null;
    try {
      ModelProto toWrite = model;
      if (threshold >= 0) {
        List<TensorProto> moved = new ArrayList<>();
        GraphProto.Builder gb = model.getGraph().toBuilder();
        List<Long> offsets = new ArrayList<>();
        long offset = 0;
        for (int i = 0; i < gb.getInitializerCount(); i++) {
          TensorProto t = toRawData(gb.getInitializer(i));
          if (t.getDataType() == TensorProto.DataType.STRING_VALUE || !t.hasRawData()
              || t.getRawData().size() <= threshold) {
            continue;
          }
          long len = t.getRawData().size();
          moved.add(t);
          offsets.add(offset);
          gb.setInitializer(i, t.toBuilder()
              .clearRawData()
              .setDataLocation(TensorProto.DataLocation.EXTERNAL)
              .addExternalData(entry("location", dataName))
              .addExternalData(entry("offset", Long.toString(offset)))
              .addExternalData(entry("length", Long.toString(len)))
              .build());
          offset = align(offset + len);
        }
        if (!moved.isEmpty()) {
          dataTmp = AtomicFiles.newTempFile(folder, dataName);
          try (FileChannel ch = FileChannel.open(dataTmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            for (int i = 0; i < moved.size(); i++) {
              ByteBuffer src = moved.get(i).getRawData().asReadOnlyByteBuffer();
              long pos = offsets.get(i);
              while (src.hasRemaining()) {
                pos += ch.write(src, pos);
              }
            }
            ch.force(true);
          }
          toWrite = model.toBuilder().setGraph(gb.build()).build();
        }
      }
      long size = estimateSerializedSize(toWrite);
      if (size > sizeLimit) {
        throw new QuantbeamException("Model to be saved as " + target + " is about " + size + " bytes even with its"
            + " large initializers moved to external data, above protobuf's 2 GB limit: lower the external data"
            + " threshold or reduce the graph");
      }
      modelTmp = AtomicFiles.newTempFile(folder, target.getFileName().toString());
      try (OutputStream os = Files.newOutputStream(modelTmp, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING)) {
        CodedOutputStream cos = CodedOutputStream.newInstance(os, 1 << 16);
        cos.useDeterministicSerialization();
        toWrite.writeTo(cos);
        cos.flush();
      }
      try (FileChannel ch = FileChannel.open(modelTmp, StandardOpenOption.WRITE)) {
        ch.force(true);
      }
      if (dataTmp != null) {
        AtomicFiles.moveIntoPlace(dataTmp, dataTarget);
        dataTmp = null;
      }
      AtomicFiles.moveIntoPlace(modelTmp, target);
      modelTmp = null;
    } catch (IOException e) {
      throw new QuantbeamException("Cannot write ONNX model " + target + ": " + e
          + ". Nothing was written; check free disk space and folder permissions", e);
    } finally {
      deleteQuietly(dataTmp);
      deleteQuietly(modelTmp);
    }
  }

  private static StringStringEntryProto entry(String k, String v) {
    return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
  }

  private static long align(long offset) {
    long rem = offset % EXTERNAL_ALIGNMENT;
    return rem == 0 ? offset : offset + (EXTERNAL_ALIGNMENT - rem);
  }

  private static void deleteQuietly(Path p) {
    if (p != null) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException ignored) {
        // best effort: the temp file has a hidden name and the .tmp suffix
      }
    }
  }

  /**
   * Serialized size as a long: {@code getSerializedSize()} is an int and overflows on models whose
   * tensors add up to more than 2 GB in memory.
   */
  static long estimateSerializedSize(ModelProto m) {
    GraphProto g = m.getGraph();
    long tensors = 0;
    for (TensorProto t : g.getInitializerList()) {
      long s = t.getSerializedSize();
      tensors += s + CodedOutputStream.computeUInt64SizeNoTag(s) + 1;
    }
    ModelProto withoutInitializers = m.toBuilder().setGraph(g.toBuilder().clearInitializer()).build();
    // node attributes (Constant tensors, subgraphs) are counted here; they are never externalized
    long rest = withoutInitializers.getSerializedSize();
    if (rest < 0) {
      return Long.MAX_VALUE;
    }
    return rest + tensors + 16;
  }

  /** Converts the common typed data fields of a tensor to little-endian raw_data; others unchanged. */
  static TensorProto toRawData(TensorProto t) {
    if (t.hasRawData()) {
      return t;
    }
    int type = t.getDataType();
    ByteBuffer buf;
    if (type == TensorProto.DataType.FLOAT_VALUE && t.getFloatDataCount() > 0) {
      buf = ByteBuffer.allocate(4 * t.getFloatDataCount()).order(ByteOrder.LITTLE_ENDIAN);
      t.getFloatDataList().forEach(buf::putFloat);
      return t.toBuilder().clearFloatData().setRawData(ByteString.copyFrom(buf.array())).build();
    }
    if (type == TensorProto.DataType.INT64_VALUE && t.getInt64DataCount() > 0) {
      buf = ByteBuffer.allocate(8 * t.getInt64DataCount()).order(ByteOrder.LITTLE_ENDIAN);
      t.getInt64DataList().forEach(buf::putLong);
      return t.toBuilder().clearInt64Data().setRawData(ByteString.copyFrom(buf.array())).build();
    }
    if (type == TensorProto.DataType.DOUBLE_VALUE && t.getDoubleDataCount() > 0) {
      buf = ByteBuffer.allocate(8 * t.getDoubleDataCount()).order(ByteOrder.LITTLE_ENDIAN);
      t.getDoubleDataList().forEach(buf::putDouble);
      return t.toBuilder().clearDoubleData().setRawData(ByteString.copyFrom(buf.array())).build();
    }
    if (type == TensorProto.DataType.INT32_VALUE && t.getInt32DataCount() > 0) {
      buf = ByteBuffer.allocate(4 * t.getInt32DataCount()).order(ByteOrder.LITTLE_ENDIAN);
      t.getInt32DataList().forEach(buf::putInt);
      return t.toBuilder().clearInt32Data().setRawData(ByteString.copyFrom(buf.array())).build();
    }
    return t;
  }

  // ------------------------------------------------------------------------------------------
  // bytes and hashes

  /** Deterministic serialization of a model (below 2 GB; larger ones must be saved with external data). */
  public static byte[] toBytes(ModelProto model) {
    long size = estimateSerializedSize(model);
    if (size > PROTOBUF_LIMIT_BYTES) {
      throw new QuantbeamException("Model is about " + size + " bytes, above protobuf's 2 GB limit, so it cannot"
          + " be held as one byte array: save it with OnnxModelIO.save, which moves weights to external data");
    }
    byte[] out = new byte[model.getSerializedSize()];
    CodedOutputStream cos = CodedOutputStream.newInstance(out);
    cos.useDeterministicSerialization();
    try {
      model.writeTo(cos);
      cos.checkNoSpaceLeft();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /** The lowercase hex SHA-256 of bytes in memory (as {@link #sha256(Path)} of a file). */
  public static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Lower-case hex SHA-256 of a file's bytes. */
  public static String sha256(Path file) {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer buf = ByteBuffer.allocate(1 << 20);
      while (ch.read(buf) >= 0) {
        buf.flip();
        md.update(buf);
        buf.clear();
      }
    } catch (NoSuchFileException e) {
      throw new QuantbeamException("Cannot hash " + file.toAbsolutePath() + ": the file does not exist", e);
    } catch (IOException e) {
      throw new QuantbeamException("Cannot hash " + file.toAbsolutePath() + ": " + e, e);
    }
    return HexFormat.of().formatHex(md.digest());
  }
}
