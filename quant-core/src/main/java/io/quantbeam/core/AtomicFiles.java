package io.quantbeam.core;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;

/**
 * Files written to a temporary name in their own folder and renamed into place, so that a reader
 * (or a crash) never sees a partial file and an older file stays until the new one is complete.
 */
public final class AtomicFiles {
  private static final SecureRandom RANDOM = new SecureRandom();

  private AtomicFiles() {}

  /** Writes {@code bytes} to {@code file} (creating its folder) through a temporary file. */
  public static void write(Path file, byte[] bytes) throws IOException {
    Path target = file.toAbsolutePath();
    Files.createDirectories(target.getParent());
    Path tmp = newTempFile(target.getParent(), target.getFileName().toString());
    try {
      Files.write(tmp, bytes);
      moveIntoPlace(tmp, target);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** Copies {@code from} to {@code to} through a temporary file beside {@code to}. */
  public static void copy(Path from, Path to) throws IOException {
    Path target = to.toAbsolutePath();
    Path tmp = newTempFile(target.getParent(), target.getFileName().toString());
    try {
      Files.copy(from, tmp, StandardCopyOption.REPLACE_EXISTING);
      moveIntoPlace(tmp, target);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** Renames a finished file over {@code target}: atomically where the file system allows. */
  public static void moveIntoPlace(Path finished, Path target) throws IOException {
    try {
      Files.move(finished, target, StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(finished, target, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /**
   * A new empty file {@code .<name>.<random>.tmp} in {@code folder}, created with the default
   * permissions (unlike {@link Files#createTempFile}, which makes it owner-only).
   */
  public static Path newTempFile(Path folder, String name) throws IOException {
    for (int attempt = 0; ; attempt++) {
      Path p = folder.resolve("." + name + "." + Long.toUnsignedString(RANDOM.nextLong(), 36)
          + ".tmp");
      try {
        return Files.createFile(p);
      } catch (FileAlreadyExistsException e) {
        if (attempt > 100) {
          throw e;
        }
      }
    }
  }
}
