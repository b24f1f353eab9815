package io.quantbeam.pipelines;

import io.quantbeam.core.QuantbeamException;
import io.quantbeam.transforms.SharedFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where one run assembles its outputs: a fresh folder {@code .<output name>.pending-<random>}
 * beside {@code --output}, on the output's file system, so that workers write candidates, the
 * model and the table there and the driver reads them back without sharing a disk with them. Its
 * {@value QuantizePipeline#WORK_DIR} subfolder holds what workers hand to the driver and is never
 * published. {@link #publish} moves the rest into the output folder, {@value
 * QuantizePipeline#REPORT_FILE} last; {@link #close} deletes the pending folder.
 *
 * <p>On the local disk the folder is locked ({@link RunFolders}) and published with atomic
 * renames (a folder such as {@code candidates/} replaces the older one in one rename). On HDFS
 * each file is renamed (atomic per file; Beam's HDFS rename deletes an older file first). On an
 * object store (S3, GCS) a rename is a copy and a delete: each object appears whole, but the
 * files of one result appear one after the other; readers wait for {@code report.json}, which is
 * written last. Pending folders of killed runs on other file systems are not cleaned up by later
 * runs (there is no lock a dead process releases): they are named {@code .<output>.pending-*}.
 */
final class PendingOutput implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PendingOutput.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final String out;
  private final String pending;
  private final RunFolders.Lock lock;

  private PendingOutput(String out, String pending, RunFolders.Lock lock) {
    this.out = out;
    this.pending = pending;
    this.lock = lock;
  }

  /**
   * A new pending folder for the output folder {@code out} (a normalised spec), after removing
   * what killed runs left beside a local one; a clear error, before any work, when it cannot be
   * written.
   */
  static PendingOutput create(String out) {
    if (SharedFiles.isLocal(out)) {
      Path dir = Path.of(out);
      if (dir.getParent() != null && dir.getFileName() != null) {
        RunFolders.removeStale(dir.getParent(), QuantizePipeline.pendingPrefix(dir));
      }
      RunFolders.Lock lock = RunFolders.lockNew(QuantizePipeline.pendingFolder(dir));
      return new PendingOutput(out, lock.dir().toString(), lock);
    }
    String name = SharedFiles.name(out);
    String pending = SharedFiles.resolve(SharedFiles.parent(out),
        "." + name + ".pending-" + Long.toUnsignedString(RANDOM.nextLong()));
    PendingOutput p = new PendingOutput(out, pending, null);
    try {
      if (SharedFiles.exists(out)) {
        throw new QuantbeamException("--output=" + out + " is a file, not a folder: name a folder"
            + " (it is created when missing). Nothing was written.");
      }
      // proves now, not after calibration, that this run can write beside the output
      SharedFiles.writeAtomically(p.workFile("started"), ("pid " + ProcessHandle.current().pid()
          + "\n").getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new QuantbeamException("The output folder " + out + " cannot be written: " + e
          + ". Choose a writable --output. Nothing was calibrated or written.", e);
    }
    return p;
  }

  /** The output folder, as the report names it. */
  String out() {
    return out;
  }

  /** The pending folder (no trailing separator): its paths are rewritten to {@link #out}. */
  String pending() {
    return pending;
  }

  /** A file in the pending folder (published). */
  String file(String name) {
    return SharedFiles.resolve(pending, name);
  }

  /** A file in the output folder. */
  String outFile(String name) {
    return SharedFiles.resolve(out, name);
  }

  /** The work folder: what workers hand to the driver (never published). */
  String work() {
    return SharedFiles.resolve(pending, QuantizePipeline.WORK_DIR);
  }

  /** A file in the work folder. */
  String workFile(String name) {
    return SharedFiles.resolve(work(), name);
  }

  /** Moves the results into the output folder, {@value QuantizePipeline#REPORT_FILE} last. */
  void publish() throws IOException {
    if (lock != null) {
      QuantizePipeline.publish(lock.dir(), Path.of(out));
      return;
    }
    String root = SharedFiles.folder(pending).toString();
    String work = SharedFiles.folder(work()).toString();
    List<String> files = new ArrayList<>();
    for (String f : SharedFiles.listRecursively(pending)) {
      if (!f.startsWith(work) && f.startsWith(root)) {
        files.add(f.substring(root.length()));
      }
    }
    String report = null;
    Set<String> folders = new LinkedHashSet<>();
    for (String rel : files) {
      if (rel.equals(QuantizePipeline.REPORT_FILE)) {
        report = rel;
        continue;
      }
      SharedFiles.rename(SharedFiles.resolve(root, rel), SharedFiles.resolve(out, rel));
      if (rel.contains("/")) {
        folders.add(rel.substring(0, rel.indexOf('/')));
      }
    }
    // a folder of the result (candidates/) replaces the older one whole: drop older files
    String outRoot = SharedFiles.folder(out).toString();
    for (String folder : folders) {
      for (String old : SharedFiles.listRecursively(SharedFiles.resolve(out, folder))) {
        if (old.startsWith(outRoot) && !files.contains(old.substring(outRoot.length()))) {
          LOG.info("Removing {}: not part of the new result", old);
          SharedFiles.delete(old);
        }
      }
    }
    if (report != null) {
      SharedFiles.rename(SharedFiles.resolve(root, report), SharedFiles.resolve(out, report));
    }
  }

  /** Deletes the pending folder and releases its lock. */
  @Override
  public void close() {
    if (lock != null) {
      lock.deleteAndRelease();
      return;
    }
    try {
      SharedFiles.deleteRecursively(pending);
    } catch (IOException e) {
      LOG.warn("Cannot delete {}: {}; delete it by hand", pending, e.toString());
    }
  }
}
