package io.quantbeam.core.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ResourcePoolTest {
  /** Counts its own closes, so a test sees what the pool closed and when. */
  static final class Thing implements AutoCloseable {
    final String name;
    int closes;

    Thing(String name) {
      this.name = name;
    }

    @Override
    public void close() {
      closes++;
    }
  }

  private final AtomicLong now = new AtomicLong();

  private ResourcePool pool(long idleSeconds, int maxIdle) {
    return new ResourcePool(new ResourcePool.Settings(Duration.ofSeconds(idleSeconds), maxIdle),
        now::get);
  }

  @Test
  void oneKeyIsOpenedOnceAndSharedByItsLeases() {
    try (ResourcePool pool = pool(60, 4)) {
      AtomicInteger opens = new AtomicInteger();
      ResourcePool.Lease<Thing> a = pool.lease("m", () -> new Thing("m" + opens.incrementAndGet()));
      ResourcePool.Lease<Thing> b = pool.lease("m", () -> new Thing("m" + opens.incrementAndGet()));
      assertSame(a.get(), b.get());
      assertEquals(1, opens.get());
      assertEquals(new ResourcePool.Stats(1, 1, 1, 0, 1), pool.stats());
      a.close();
      a.close(); // idempotent: the second close must not give back b's use
      assertEquals(1, pool.stats().leased());
      b.close();
      assertEquals(0, pool.stats().leased());
      assertThrows(IllegalStateException.class, a::get, "a given-back lease hands out nothing");
    }
  }

  @Test
  void anIdleEntryIsClosedByThePoolAfterItsTimeoutAndNotBefore() {
    try (ResourcePool pool = pool(60, 4)) {
      Thing t;
      try (ResourcePool.Lease<Thing> l = pool.lease("m", () -> new Thing("m"))) {
        t = l.get();
      }
      now.addAndGet(Duration.ofSeconds(59).toNanos());
      assertEquals(0, pool.closeExpired());
      assertEquals(0, t.closes);
      now.addAndGet(Duration.ofSeconds(1).toNanos());
      assertEquals(1, pool.closeExpired());
      assertEquals(1, t.closes);
      assertEquals(0, pool.stats().open());
      // the next lease opens a new one
      try (ResourcePool.Lease<Thing> l = pool.lease("m", () -> new Thing("m2"))) {
        assertEquals("m2", l.get().name);
      }
    }
  }

  @Test
  void anEntryInUseIsNeverClosedByTheTimeout() {
    try (ResourcePool pool = pool(1, 4)) {
      ResourcePool.Lease<Thing> l = pool.lease("m", () -> new Thing("m"));
      Thing t = l.get();
      now.addAndGet(Duration.ofHours(1).toNanos());
      assertEquals(0, pool.closeExpired());
      assertEquals(0, pool.closeIdle());
      assertEquals(0, t.closes);
      l.close();
      assertEquals(0, pool.closeExpired(), "released just now: not expired yet");
      assertEquals(0, t.closes);
    }
  }

  @Test
  void moreIdleEntriesThanMaxIdleCloseTheLeastRecentlyUsedAtOnce() {
    try (ResourcePool pool = pool(60, 2)) {
      List<Thing> things = new ArrayList<>();
      for (String k : List.of("a", "b", "c")) {
        try (ResourcePool.Lease<Thing> l = pool.lease(k, () -> new Thing(k))) {
          things.add(l.get());
        }
      }
      // a, b, c idle; a is the least recently used
      assertEquals(List.of(1, 0, 0), things.stream().map(t -> t.closes).toList());
      try (ResourcePool.Lease<Thing> l = pool.lease("b", () -> new Thing("b2"))) {
        assertSame(things.get(1), l.get());
      }
      try (ResourcePool.Lease<Thing> l = pool.lease("d", () -> new Thing("d"))) {
        // b and c idle, d in use: within maxIdle
        assertEquals(List.of(1, 0, 0), things.stream().map(t -> t.closes).toList());
      }
      // d idle too: c is now the least recently used idle one
      assertEquals(List.of(1, 0, 1), things.stream().map(t -> t.closes).toList());
      assertEquals(2, pool.stats().open());
      assertEquals(3, pool.stats().peakOpen());
    }
  }

  @Test
  void closingThePoolClosesIdleEntriesAtOnceAndLeasedOnesWhenGivenBack() {
    ResourcePool pool = pool(60, 4);
    ResourcePool.Lease<Thing> held = pool.lease("held", () -> new Thing("held"));
    Thing idle;
    try (ResourcePool.Lease<Thing> l = pool.lease("idle", () -> new Thing("idle"))) {
      idle = l.get();
    }
    pool.close();
    assertEquals(1, idle.closes);
    assertEquals(0, held.get().closes);
    Thing h = held.get();
    held.close();
    assertEquals(1, h.closes);
    assertEquals(0, pool.stats().open());
    assertThrows(IllegalStateException.class, () -> pool.lease("x", () -> new Thing("x")));
  }

  @Test
  void aFailedOpenReachesTheCallerAndTheNextLeaseTriesAgain() {
    try (ResourcePool pool = pool(60, 4)) {
      RuntimeException e = assertThrows(IllegalArgumentException.class,
          () -> pool.lease("m", () -> {
            throw new IllegalArgumentException("no such model");
          }));
      assertEquals("no such model", e.getMessage());
      assertEquals(new ResourcePool.Stats(0, 0, 0, 0, 0), pool.stats());
      try (ResourcePool.Lease<Thing> l = pool.lease("m", () -> new Thing("m"))) {
        assertEquals("m", l.get().name);
      }
    }
  }

  @Test
  void concurrentLeasesOfOneAbsentKeyOpenItOnce() throws Exception {
    ExecutorService threads = Executors.newFixedThreadPool(8);
    try (ResourcePool pool = pool(60, 4)) {
      AtomicInteger opens = new AtomicInteger();
      CountDownLatch start = new CountDownLatch(1);
      List<Future<Thing>> got = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        got.add(threads.submit(() -> {
          start.await();
          try (ResourcePool.Lease<Thing> l = pool.lease("m", () -> {
            opens.incrementAndGet();
            sleep(50); // opening takes a while: the others arrive meanwhile
            return new Thing("m");
          })) {
            return l.get();
          }
        }));
      }
      start.countDown();
      Thing first = got.get(0).get(10, TimeUnit.SECONDS);
      for (Future<Thing> f : got) {
        assertSame(first, f.get(10, TimeUnit.SECONDS));
      }
      assertEquals(1, opens.get());
      assertEquals(0, pool.stats().leased());
    } finally {
      threads.shutdownNow();
    }
  }

  @Test
  void thePoolsOwnThreadClosesIdleEntriesWithoutBeingAsked() throws Exception {
    // real time here: the reaper thread, not a test, must close it
    try (ResourcePool pool = new ResourcePool(
        new ResourcePool.Settings(Duration.ofMillis(200), 4))) {
      CountDownLatch closed = new CountDownLatch(1);
      try (ResourcePool.Lease<Object> l = pool.lease("m", Object::new, o -> closed.countDown())) {
        assertFalse(closed.await(300, TimeUnit.MILLISECONDS), "closed while leased");
      }
      assertTrue(closed.await(10, TimeUnit.SECONDS), "the idle entry was not closed");
      assertEquals(0, pool.stats().open());
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
