package io.quantbeam.pipelines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quantbeam.core.EnumNames;
import io.quantbeam.pipelines.CommandLine.Command;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** docs/options.md is what the options interfaces say now. */
class OptionsReferenceTest {
  static Path repo() {
    return Path.of(System.getProperty("quantbeam.repo", "..")).toAbsolutePath().normalize();
  }

  @Test
  void theCommittedReferenceIsCurrent() throws Exception {
    String now = OptionsReference.markdown(Commands.all(OptionsReference.ROOT));
    Path file = repo().resolve(OptionsReference.FILE);
    String committed = Files.isRegularFile(file)
        ? Files.readString(file, StandardCharsets.UTF_8) : "";
    assertEquals(now, committed, OptionsReference.FILE + " is out of date: run "
        + OptionsReference.REGENERATE + " (from the repository root) and commit it");
  }

  @Test
  void theReferenceHasASectionPerCommandAndTheValues() {
    String md = OptionsReference.markdown(Commands.all(OptionsReference.ROOT));
    for (Command<?> c : Commands.all(OptionsReference.ROOT)) {
      assertTrue(md.contains("\n## `" + c.name()), c.name());
    }
    assertTrue(md.contains("| `--method` | one of minmax, moving-average, percentile, entropy |"
        + " `minmax` |"), md);
    assertTrue(md.contains("| `--registry` | text | **required** |"), md);
    assertTrue(md.contains("| `--rounds` | whole number | `5` |"), md);
  }

  /** Beam's --help shows a list option as {@code <List>}: its description must name the values. */
  @Test
  void listsOfFixedValuesNameEveryValueInTheirDescription() {
    for (Command<?> c : Commands.all(OptionsReference.ROOT)) {
      if (c.options() == null) {
        continue;
      }
      for (OptionsReference.Option o : OptionsReference.all(c.options())) {
        if (o.list() && o.enumType() != null) {
          Arrays.stream(o.enumType().getEnumConstants()).map(EnumNames::display).forEach(v ->
              assertTrue(o.description().contains(v), "--" + o.name() + " description lacks "
                  + v));
        }
      }
    }
  }
}
