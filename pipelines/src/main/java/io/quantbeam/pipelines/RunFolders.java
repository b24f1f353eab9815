package io.quantbeam.pipelines;

import io.quantbeam.core.QuantbeamException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The temporary folders of a run (the pending output folder, the staging folder) and the clean-up
 * of those a killed run left behind.
 *
 * <p>Each folder holds {@value #LOCK_FILE}, locked (an OS file lock) for as long as its run lives:
 * the operating system releases the lock when the process ends however it ends, SIGKILL included,
 * so a lock that can be taken proves its run is gone. A later run deletes only such folders,
 * never one whose lock is held (another live run, in this or another process). A folder without a
 * lock file (made by a version without locks, or by a run killed in the instant between creating
 * the folder and its lock) is deleted only when untouched for {@link #UNLOCKED_MAX_AGE}.
 */
final class RunFolders {
  static final String LOCK_FILE = "run.lock";
  /** How old a folder without a lock file must be to count as abandoned. */
  static final Duration UNLOCKED_MAX_AGE = Duration.ofDays(1);
  private static final Logger LOG = LoggerFactory.getLogger(RunFolders.class);
  /**
   * The folders this process holds. POSIX file locks belong to the process, and closing any
   * channel to a locked file releases them, so this process must never even open its own lock
   * files to test them: it skips these instead.
   */
  private static final java.util.Set<Path> HELD = java.util.concurrent.ConcurrentHashMap.newKeySet();

  private RunFolders() {}

  /** A held lock on one folder; {@link #close} releases it (the folder itself stays). */
  static final class Lock implements AutoCloseable {
    private final Path dir;
    private final FileChannel channel;
    private final FileLock lock;

    private Lock(Path dir, FileChannel channel, FileLock lock) {
      this.dir = dir;
      this.channel = channel;
      this.lock = lock;
    }

    /** The locked folder (absolute). */
    Path dir() {
      return dir;
    }

    /**
     * Deletes the folder while the lock is still held (so no other run ever sees it unlocked),
     * then releases the lock.
     */
    void deleteAndRelease() {
      QuantizePipeline.deleteQuietly(dir);
      close();
    }

    @Override
    public void close() {
      try {
        lock.release();
        channel.close();
      } catch (IOException ignored) {
        // released with the channel or the process anyway
      } finally {
        HELD.remove(dir);
      }
    }
  }

  /**
   * Locks {@code dir} for this run: the lock is taken on a temporary name and renamed into place,
   * so that no other process ever sees {@value #LOCK_FILE} unlocked while this run lives.
   */
  static Lock lock(Path dir) {
    dir = dir.toAbsolutePath().normalize();
    Path tmp = dir.resolve(LOCK_FILE + ".tmp");
    FileChannel ch = null;
    HELD.add(dir);
    try {
      ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
      FileLock l = ch.lock();
      ProcessHandle me = ProcessHandle.current();
      ch.write(java.nio.ByteBuffer.wrap(("pid " + me.pid() + "\nstarted "
          + me.info().startInstant().map(Instant::toString).orElse("?") + "\n")
          .getBytes(StandardCharsets.UTF_8)));
      Files.move(tmp, dir.resolve(LOCK_FILE), StandardCopyOption.ATOMIC_MOVE);
      return new Lock(dir, ch, l);
    } catch (IOException e) {
      HELD.remove(dir);
      if (ch != null) {
        try {
          ch.close();
        } catch (IOException ignored) {
          // failing anyway
        }
      }
      throw new QuantbeamException("Cannot create the lock file in " + dir + ": " + e
          + ". Check free disk space and folder permissions.", e);
    }
  }

  /** {@link #lock} for a folder this run just created: if locking fails, the folder is deleted. */
  static Lock lockNew(Path dir) {
    try {
      return lock(dir);
    } catch (QuantbeamException e) {
      QuantizePipeline.deleteQuietly(dir);
      throw e;
    }
  }

  /**
   * Deletes the folders in {@code parent} named {@code prefix} and the random digits of
   * {@link Files#createTempDirectory} (so not {@code quantbeam-profile-*} and the like) whose run
   * is provably gone (see the class comment); returns those it deleted.
   */
  static List<Path> removeStale(Path parent, String prefix) {
    List<Path> removed = new ArrayList<>();
    if (!Files.isDirectory(parent)) {
      return removed;
    }
    try (DirectoryStream<Path> s = Files.newDirectoryStream(parent, d ->
        d.getFileName().toString().startsWith(prefix)
            && d.getFileName().toString().substring(prefix.length()).matches("[0-9]+")
            && Files.isDirectory(d))) {
      for (Path dir : s) {
        String owner = staleOwner(dir);
        if (owner != null) {
          QuantizePipeline.deleteQuietly(dir);
          if (!Files.exists(dir)) {
            removed.add(dir);
            LOG.info("Removed {}, left by a run that is no longer running ({})", dir, owner);
          }
        }
      }
    } catch (IOException e) {
      // clean-up is a courtesy: never fail a run over it
      LOG.warn("Cannot look for stale folders in {}: {}", parent, e.toString());
    }
    return removed;
  }

  /** Who left {@code dir} when its run is gone, else null (alive, or not provably dead). */
  private static String staleOwner(Path dir) {
    if (HELD.contains(dir.toAbsolutePath().normalize())) {
      return null; // a live run of this process
    }
    Path lockFile = dir.resolve(LOCK_FILE);
    if (!Files.exists(lockFile)) {
      try {
        FileTime modified = Files.getLastModifiedTime(dir);
        return modified.toInstant().isBefore(Instant.now().minus(UNLOCKED_MAX_AGE))
            ? "no lock file, untouched since " + modified : null;
      } catch (IOException e) {
        return null;
      }
    }
    try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
      FileLock l;
      try {
        l = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        return null; // held in this process after all
      }
      if (l == null) {
        return null; // held by a live run in another process
      }
      String who = Files.readString(lockFile, StandardCharsets.UTF_8).trim().replace('\n', ',');
      l.release();
      return who.isEmpty() ? "lock not held" : who;
    } catch (IOException e) {
      return null; // cannot tell: leave it
    }
  }
}
