package io.quantbeam.transforms;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileNotFoundException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SharedFiles} on local files, as plain paths and as {@code file://} URIs. */
class SharedFilesTest {
  @TempDir Path dir;

  @Test
  void readsWritesAndReplacesWholeFilesLeavingNoTemporaryFile() throws Exception {
    byte[] big = new byte[3 * (1 << 20) + 17]; // more than one read chunk
    new Random(7).nextBytes(big);
    String file = dir.resolve("sub/model.bin").toString();
    assertFalse(SharedFiles.exists(file));
    SharedFiles.writeAtomically(file, big);
    assertTrue(SharedFiles.exists(file));
    assertArrayEquals(big, SharedFiles.readAllBytes(file));
    assertEquals(big.length, SharedFiles.metadata(file).sizeBytes());

    SharedFiles.writeAtomically(file, "newer".getBytes(StandardCharsets.UTF_8));
    assertEquals("newer", Files.readString(Path.of(file)));
    try (var s = Files.list(dir.resolve("sub"))) {
      assertEquals(List.of("model.bin"), s.map(p -> p.getFileName().toString()).toList());
    }
  }

  @Test
  void fileUrisAndPlainPathsNameTheSameFile() throws Exception {
    Path p = dir.resolve("a.txt");
    Files.writeString(p, "one");
    String uri = p.toUri().toString();
    assertTrue(uri.startsWith("file:"));
    assertTrue(SharedFiles.isLocal(uri));
    assertTrue(SharedFiles.isLocal(p.toString()));
    assertEquals(p.toAbsolutePath().normalize(), SharedFiles.localPath(uri));
    assertEquals("one", new String(SharedFiles.readAllBytes(uri), StandardCharsets.UTF_8));
    assertEquals(SharedFiles.identity(uri), SharedFiles.identity(p.toString()));
    assertEquals(p.toString(), Path.of(SharedFiles.resolve(dir.toString(), "a.txt")).toString());
  }

  @Test
  void identityChangesWhenTheFileIsRewritten() throws Exception {
    Path p = dir.resolve("m.onnx");
    Files.writeString(p, "12345");
    Files.setLastModifiedTime(p, FileTime.fromMillis(1_000_000));
    String before = SharedFiles.identity(p.toString());
    Files.writeString(p, "123456");
    Files.setLastModifiedTime(p, FileTime.fromMillis(1_000_000));
    assertNotEquals(before, SharedFiles.identity(p.toString()), "size differs");
    String sameSize = SharedFiles.identity(p.toString());
    Files.writeString(p, "654321");
    Files.setLastModifiedTime(p, FileTime.fromMillis(2_000_000));
    assertNotEquals(sameSize, SharedFiles.identity(p.toString()), "time differs");
  }

  @Test
  void copyRenameListAndDelete() throws Exception {
    String a = dir.resolve("x/a.bin").toString();
    SharedFiles.writeAtomically(a, new byte[] {1, 2, 3});
    String b = dir.resolve("y/b.bin").toString();
    Files.createDirectories(Path.of(b).getParent());
    SharedFiles.copy(a, b);
    assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(Path.of(b)));
    SharedFiles.writeAtomically(dir.resolve("y/c.bin").toString(), new byte[] {9});
    SharedFiles.rename(dir.resolve("y/c.bin").toString(), b);
    assertArrayEquals(new byte[] {9}, Files.readAllBytes(Path.of(b)));

    assertEquals(List.of(Path.of(a).toUri().toString(), Path.of(b).toUri().toString()),
        SharedFiles.listRecursively(dir.toString()).stream()
            .map(s -> Path.of(s).toUri().toString()).toList());
    SharedFiles.delete(b);
    SharedFiles.delete(b); // a missing file is no error
    assertFalse(Files.exists(Path.of(b)));
    SharedFiles.deleteFilesBelow(dir.toString());
    assertEquals(List.of(), SharedFiles.listRecursively(dir.toString()));
  }

  @Test
  void deletesAFolderTreeAndNamesParents() throws Exception {
    Path root = dir.resolve("pending");
    SharedFiles.writeAtomically(root.resolve("a.bin").toString(), new byte[] {1});
    SharedFiles.writeAtomically(root.resolve("candidates/b.onnx").toString(), new byte[] {2});
    SharedFiles.writeAtomically(root.resolve(".work/sens/c.txt").toString(), new byte[] {3});
    assertEquals(3, SharedFiles.listRecursively(root.toString()).size());
    assertEquals("candidates", SharedFiles.name(root.resolve("candidates").toString() + "/"));
    assertEquals(root.toString(), Path.of(SharedFiles.parent(root.resolve("a.bin").toString()))
        .toString());
    SharedFiles.deleteRecursively(root.toString());
    assertFalse(Files.exists(root));
    SharedFiles.deleteRecursively(root.toString()); // gone already: no error
  }

  @Test
  void aMissingFileIsFileNotFound() {
    String missing = dir.resolve("nothing.onnx").toString();
    assertThrows(FileNotFoundException.class, () -> SharedFiles.metadata(missing));
    assertThrows(FileNotFoundException.class, () -> SharedFiles.readAllBytes(missing));
    assertThrows(FileNotFoundException.class, () -> SharedFiles.identity(missing));
  }
}
