import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.Map;

public class CheckTest {
    private static int failures = 0;

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAIL: " + what);
            failures++;
        }
    }

    public static void main(String[] args) throws Exception {
        PrintStream stdout = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true));
        Map<String, Integer> counts;
        try {
            counts = Parser.parseCounts("apples: 3\n\npears:5\n");
        } finally {
            System.setOut(stdout);
        }
        check(captured.size() == 0, "parseCounts printed: " + captured);
        check(counts.get("apples") == 3 && counts.get("pears") == 5, "counts: " + counts);
        check(counts.size() == 2, "two entries");
        if (failures > 0) {
            System.exit(1);
        }
        System.out.println("all checks passed");
    }
}
