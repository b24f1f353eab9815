package io.quantbeam.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which leftover run folders a new run may delete: only those whose run is provably gone (its OS
 * file lock can be taken, or, without a lock file, untouched for a day), never one a live run
 * holds, in another process or in this one. The other process is a real child JVM holding real
 * locks, then SIGKILLed.
 */
class RunFoldersTest {
  /** Child JVM: locks the folders given, says so, and waits to be killed. */
  public static final class HoldLocks {
    public static void main(String[] args) throws Exception {
      List<RunFolders.Lock> held = new ArrayList<>();
      for (String a : args) {
        held.add(RunFolders.lock(Path.of(a)));
      }
      System.out.println("locked " + held.size());
      System.out.flush();
      Thread.sleep(Long.MAX_VALUE);
    }
  }

  @Test
  void onlyFoldersOfDeadRunsAreRemoved(@TempDir Path dir) throws Exception {
    String prefix = ".out.pending-";
    Path otherLive = Files.createDirectories(dir.resolve(prefix + "1"));
    Path killed = Files.createDirectories(dir.resolve(prefix + "2"));
    Path ours = Files.createDirectories(dir.resolve(prefix + "3"));
    Path freshUnlocked = Files.createDirectories(dir.resolve(prefix + "4"));
    Path oldUnlocked = Files.createDirectories(dir.resolve(prefix + "5"));
    Path otherOutput = Files.createDirectories(dir.resolve(".out2.pending-6"));
    Path notATempName = Files.createDirectories(dir.resolve(prefix + "keep-me"));
    Files.setLastModifiedTime(oldUnlocked, FileTime.from(Instant.now().minus(Duration.ofDays(2))));
    Files.setLastModifiedTime(notATempName,
        FileTime.from(Instant.now().minus(Duration.ofDays(2))));

    Process holdOther = hold(otherLive);
    Process holdKilled = hold(killed, otherOutput);
    try (RunFolders.Lock mine = RunFolders.lock(ours)) {
      // every run alive: nothing goes, and this process's own lock survives the probing
      assertEquals(List.of(oldUnlocked), RunFolders.removeStale(dir, prefix));
      holdKilled.destroyForcibly(); // SIGKILL: the OS drops its locks
      assertTrue(holdKilled.waitFor(30, TimeUnit.SECONDS));
      assertEquals(List.of(killed), RunFolders.removeStale(dir, prefix));
      assertEquals(List.of(), RunFolders.removeStale(dir, prefix));
      assertTrue(Files.isDirectory(otherLive) && Files.isDirectory(ours)
          && Files.isDirectory(freshUnlocked) && Files.isDirectory(otherOutput)
          && Files.isDirectory(notATempName));
    } finally {
      holdOther.destroyForcibly();
      holdKilled.destroyForcibly();
    }
    assertTrue(holdOther.waitFor(30, TimeUnit.SECONDS));
    // once its run is gone, the other folder goes too; ours was released by close
    List<Path> removed = new ArrayList<>(RunFolders.removeStale(dir, prefix));
    removed.sort(null);
    assertEquals(List.of(otherLive, ours), removed);
    assertEquals(List.of(otherOutput), RunFolders.removeStale(dir, ".out2.pending-"));
  }

  private static Process hold(Path... dirs) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
        HoldLocks.class.getName()));
    for (Path d : dirs) {
      cmd.add(d.toString());
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
        StandardCharsets.UTF_8));
    String line = r.readLine();
    assertEquals("locked " + dirs.length, line);
    return p;
  }
}
