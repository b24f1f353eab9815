package io.quantbeam.transforms;

import io.quantbeam.core.AtomicFiles;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.io.fs.MoveOptions.StandardMoveOptions;
import org.apache.beam.sdk.io.fs.ResolveOptions.StandardResolveOptions;
import org.apache.beam.sdk.io.fs.ResourceId;
import org.apache.beam.sdk.util.MimeTypes;

/**
 * Files named by a Beam file spec ({@code /local/path}, {@code file://}, {@code hdfs://},
 * {@code s3://}, {@code gs://}: whatever {@link FileSystems} has registered), for inputs that
 * workers read and outputs that must reach the client on a cluster without a shared disk.
 *
 * <p>Everything goes through {@link FileSystems}; this class adds only what Quantbeam needs on top:
 * whole-file reads and atomic writes. A write goes to a temporary name in the target's own folder
 * ({@code .<name>.<random>.tmp}) and is renamed over the target, so a reader never sees a partial
 * file. What that rename guarantees depends on the file system:
 *
 * <ul>
 *   <li>local files: an atomic {@code rename(2)} that replaces the older file ({@link AtomicFiles});
 *   <li>HDFS: the rename of a file is atomic, but HDFS's rename does not replace an existing
 *       target, so Beam's HDFS file system deletes an older file first: for a moment there is no
 *       file, never a partial one;
 *   <li>object stores (S3, GCS): a "rename" is a copy and a delete. Each object appears whole
 *       (a PUT or copy is atomic per object), but a set of objects does not appear at once;
 *       readers of a folder must look for the file written last (Quantbeam's report.json).
 * </ul>
 *
 * <p>The file system of a spec must be registered: by a pipeline's options ({@code
 * Pipeline.create}) or {@link FileSystems#setDefaultPipelineOptions}; local files always are.
 */
public final class SharedFiles {
  private static final SecureRandom RANDOM = new SecureRandom();
  /** Read granularity: no direct buffer as large as a model (Flink caps direct memory). */
  private static final int CHUNK = 1 << 20;

  private SharedFiles() {}

  /** Whether {@code spec} names a file on the local disk (no scheme, or {@code file:}). */
  public static boolean isLocal(String spec) {
    return "file".equals(resource(spec).getScheme());
  }

  /**
   * The spec as the pipeline passes it on: a local path made absolute and normalised (workers
   * have another working folder), any other spec as given. A scheme with no registered file
   * system is a clear error naming {@code option}.
   */
  public static String normalize(String spec, String option) {
    if (spec == null || spec.isBlank()) {
      throw new io.quantbeam.core.QuantbeamException(option + " is required");
    }
    try {
      return isLocal(spec) ? localPath(spec).toString() : spec;
    } catch (IllegalArgumentException e) {
      throw new io.quantbeam.core.QuantbeamException(option + "=" + spec + " names a file system"
          + " this job does not know (" + e.getMessage() + "). Put Beam's module for it on the"
          + " classpath (hdfs://: beam-sdks-java-io-hadoop-file-system, with --hdfsConfiguration or"
          + " HADOOP_CONF_DIR; s3://: beam-sdks-java-io-amazon-web-services2; gs://: the GCP"
          + " module), or pass a local path.", e);
    }
  }

  /** The local path of a {@link #isLocal} spec. */
  public static Path localPath(String spec) {
    String s = spec.startsWith("file:") ? Paths.get(java.net.URI.create(spec)).toString() : spec;
    return Path.of(s).toAbsolutePath().normalize();
  }

  /** The resource a spec names, as its file system spells it (a file, not a folder). */
  public static ResourceId resource(String spec) {
    return FileSystems.matchNewResource(spec, false);
  }

  /** A folder's resource. */
  public static ResourceId folder(String spec) {
    return FileSystems.matchNewResource(spec, true);
  }

  /**
   * {@code name} inside the folder {@code folderSpec}, as a spec; a relative name with {@code /}
   * ({@code candidates/a.onnx}) is resolved one folder at a time.
   */
  public static String resolve(String folderSpec, String name) {
    ResourceId r = folder(folderSpec);
    String[] parts = name.split("/");
    for (int i = 0; i < parts.length - 1; i++) {
      r = r.resolve(parts[i], StandardResolveOptions.RESOLVE_DIRECTORY);
    }
    return r.resolve(parts[parts.length - 1], StandardResolveOptions.RESOLVE_FILE).toString();
  }

  /** Whether a file (not a pattern) exists at {@code spec}. */
  public static boolean exists(String spec) throws IOException {
    MatchResult m = FileSystems.match(spec, EmptyMatchTreatment.ALLOW);
    return m.status() == MatchResult.Status.OK && !m.metadata().isEmpty();
  }

  /** The file's metadata; {@link FileNotFoundException} when there is none. */
  public static MatchResult.Metadata metadata(String spec) throws IOException {
    MatchResult m = FileSystems.match(spec, EmptyMatchTreatment.ALLOW);
    if (m.status() != MatchResult.Status.OK || m.metadata().isEmpty()) {
      throw new FileNotFoundException(spec + " does not exist");
    }
    if (m.metadata().size() > 1) {
      throw new IOException(spec + " matches " + m.metadata().size() + " files; name one file");
    }
    return m.metadata().get(0);
  }

  /**
   * What identifies the file's content cheaply: its resource id, size and modification time. A
   * file rewritten in place gets a new identity (file systems without modification times report
   * 0, where only the size tells a change).
   */
  public static String identity(String spec) throws IOException {
    MatchResult.Metadata m = metadata(spec);
    return m.resourceId() + "\u0000" + m.sizeBytes() + "\u0000" + m.lastModifiedMillis();
  }

  /** The whole file, read in 1 MB pieces; files of 2 GB and more are refused. */
  public static byte[] readAllBytes(String spec) throws IOException {
    MatchResult.Metadata m = metadata(spec);
    if (m.sizeBytes() >= Integer.MAX_VALUE - 8) {
      throw new IOException(spec + " is " + m.sizeBytes() + " bytes, too large to hold in memory");
    }
    try (ReadableByteChannel ch = FileSystems.open(m.resourceId());
        InputStream in = Channels.newInputStream(ch)) {
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(
          (int) Math.max(m.sizeBytes(), 32));
      byte[] buf = new byte[(int) Math.min(CHUNK, Math.max(m.sizeBytes(), 4096))];
      for (int n; (n = in.read(buf)) > 0; ) {
        out.write(buf, 0, n);
      }
      return out.toByteArray();
    }
  }

  /** Writes {@code bytes} to {@code spec} through a temporary file and a rename (class comment). */
  public static void writeAtomically(String spec, byte[] bytes) throws IOException {
    if (isLocal(spec)) {
      AtomicFiles.write(localPath(spec), bytes);
      return;
    }
    ResourceId target = resource(spec);
    ResourceId tmp = tempBeside(target);
    try {
      try (WritableByteChannel ch = FileSystems.create(tmp, MimeTypes.BINARY);
          OutputStream out = Channels.newOutputStream(ch)) {
        out.write(bytes);
      }
      moveIntoPlace(tmp, target);
    } finally {
      deleteQuietly(tmp);
    }
  }

  /** Copies {@code from} to {@code to} (any two file systems) through a temporary file. */
  public static void copy(String from, String to) throws IOException {
    if (isLocal(from) && isLocal(to)) {
      AtomicFiles.copy(localPath(from), localPath(to));
      return;
    }
    ResourceId source = metadata(from).resourceId();
    ResourceId target = resource(to);
    ResourceId tmp = tempBeside(target);
    try {
      if (source.getScheme().equals(target.getScheme())) {
        FileSystems.copy(List.of(source), List.of(tmp));
      } else {
        try (ReadableByteChannel in = FileSystems.open(source);
            WritableByteChannel out = FileSystems.create(tmp, MimeTypes.BINARY)) {
          Channels.newInputStream(in).transferTo(Channels.newOutputStream(out));
        }
      }
      moveIntoPlace(tmp, target);
    } finally {
      deleteQuietly(tmp);
    }
  }

  /** Renames a finished file over {@code target}: atomically where the file system can. */
  public static void rename(String finished, String target) throws IOException {
    if (isLocal(finished) && isLocal(target)) {
      AtomicFiles.moveIntoPlace(localPath(finished), localPath(target));
      return;
    }
    moveIntoPlace(resource(finished), resource(target));
  }

  /** Deletes the file if it is there. */
  public static void delete(String spec) throws IOException {
    FileSystems.delete(List.of(resource(spec)), StandardMoveOptions.IGNORE_MISSING_FILES);
  }

  /**
   * The files below a folder, at any depth (sorted by spec). Both {@code folder/*} and {@code
   * folder/**} are matched: Beam's HDFS file system matches {@code **} only below the first level,
   * and its {@code *} matches folders too, without marking them as such: a match that other
   * matches lie below is a folder and left out (an empty folder cannot be told from a file).
   */
  public static List<String> listRecursively(String folderSpec) throws IOException {
    ResourceId folder = folder(folderSpec);
    java.util.TreeSet<String> out = new java.util.TreeSet<>();
    for (String glob : List.of("*", "**")) {
      String pattern = folder.resolve(glob, StandardResolveOptions.RESOLVE_FILE).toString();
      MatchResult m = FileSystems.match(pattern, EmptyMatchTreatment.ALLOW);
      if (m.status() == MatchResult.Status.OK) {
        for (MatchResult.Metadata f : m.metadata()) {
          if (!f.resourceId().isDirectory()) {
            out.add(f.resourceId().toString());
          }
        }
      }
    }
    List<String> files = new ArrayList<>();
    for (String f : out) {
      String below = out.higher(f + "/");
      if (!(out.contains(f + "/") || (below != null && below.startsWith(f + "/")))) {
        files.add(f);
      }
    }
    return files;
  }

  /**
   * Deletes every file below a folder (object stores have no folders to delete; on HDFS and local
   * disks the emptied folders stay, which a caller removes with its own means where it matters).
   */
  public static void deleteFilesBelow(String folderSpec) throws IOException {
    List<ResourceId> files = new ArrayList<>();
    for (String f : listRecursively(folderSpec)) {
      files.add(resource(f));
    }
    if (!files.isEmpty()) {
      FileSystems.delete(files, StandardMoveOptions.IGNORE_MISSING_FILES);
    }
  }

  /**
   * Deletes a folder with everything below it: the files, then the folders that held them, deepest
   * first (HDFS deletes only empty folders through Beam; object stores have no folders, and a
   * missing one is no error).
   */
  public static void deleteRecursively(String folderSpec) throws IOException {
    ResourceId root = folder(folderSpec);
    java.util.Set<String> folders = new java.util.TreeSet<>(
        java.util.Comparator.comparingInt(String::length).reversed()
            .thenComparing(java.util.Comparator.naturalOrder()));
    List<ResourceId> files = new ArrayList<>();
    for (String f : listRecursively(folderSpec)) {
      ResourceId r = resource(f);
      files.add(r);
      for (ResourceId d = r.getCurrentDirectory(); d.toString().startsWith(root.toString())
          && !d.toString().equals(root.toString()); d = parentOf(d)) {
        folders.add(d.toString());
      }
    }
    if (!files.isEmpty()) {
      FileSystems.delete(files, StandardMoveOptions.IGNORE_MISSING_FILES);
    }
    for (String d : folders) {
      FileSystems.delete(List.of(folder(d)), StandardMoveOptions.IGNORE_MISSING_FILES);
    }
    FileSystems.delete(List.of(root), StandardMoveOptions.IGNORE_MISSING_FILES);
  }

  /** The folder that holds {@code spec} (a file or a folder). */
  public static String parent(String spec) {
    return resource(stripSlash(spec)).getCurrentDirectory().toString();
  }

  /** The last name of {@code spec} (a file or a folder). */
  public static String name(String spec) {
    return resource(stripSlash(spec)).getFilename();
  }

  private static String stripSlash(String spec) {
    return spec.endsWith("/") && spec.length() > 1 ? spec.substring(0, spec.length() - 1) : spec;
  }

  private static ResourceId parentOf(ResourceId dir) {
    return resource(stripSlash(dir.toString())).getCurrentDirectory();
  }

  private static void moveIntoPlace(ResourceId finished, ResourceId target) throws IOException {
    try {
      FileSystems.rename(List.of(finished), List.of(target));
    } catch (FileAlreadyExistsException e) {
      // a file system that neither replaces nor deletes the target itself: drop it, then rename
      FileSystems.delete(List.of(target), StandardMoveOptions.IGNORE_MISSING_FILES);
      FileSystems.rename(List.of(finished), List.of(target));
    }
  }

  private static ResourceId tempBeside(ResourceId target) {
    String name = "." + target.getFilename() + "."
        + Long.toUnsignedString(RANDOM.nextLong(), 36) + ".tmp";
    return target.getCurrentDirectory().resolve(name, StandardResolveOptions.RESOLVE_FILE);
  }

  private static void deleteQuietly(ResourceId r) {
    try {
      FileSystems.delete(List.of(r), StandardMoveOptions.IGNORE_MISSING_FILES);
    } catch (IOException ignored) {
      // a temporary file; the rename already moved it or the caller sees the first error
    }
  }
}
