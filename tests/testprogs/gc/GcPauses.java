// GC workload for gputrace's HotSpot test: young collections from allocation plus a few
// System.gc() full collections. Run with -Xlog:gc:file=F:tn so each pause line carries
// System.nanoTime(), which is CLOCK_MONOTONIC on Linux: the tracer's clock.
//
// Usage: java GcPauses [rounds] [--wait]   (--wait: read one line from stdin first)
// Prints: window <begin> <end>   (System.nanoTime())
import java.io.BufferedReader;
import java.io.InputStreamReader;

public class GcPauses {
  // Allocations escape into this ring so C2's escape analysis cannot remove them.
  static Object[] ring = new Object[4096];

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 && !args[0].startsWith("--") ? Integer.parseInt(args[0]) : 4;
    for (String a : args)
      if (a.equals("--wait")) new BufferedReader(new InputStreamReader(System.in)).readLine();
    long sink = 0;
    long begin = System.nanoTime();
    for (int round = 0; round < rounds; round++) {
      for (int i = 0; i < 1_500_000; i++) {
        byte[] b = new byte[1024];
        ring[i & 4095] = b;
        sink += b.length;
      }
      System.gc();
    }
    long end = System.nanoTime();
    System.out.println("window " + begin + " " + end);
    System.out.println("sink " + sink);
  }
}
