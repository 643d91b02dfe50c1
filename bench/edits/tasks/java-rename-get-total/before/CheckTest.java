import java.nio.file.Files;
import java.nio.file.Paths;

public class CheckTest {
    private static int failures = 0;

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAIL: " + what);
            failures++;
        }
    }

    public static void main(String[] args) throws Exception {
        Invoice inv = new Invoice().add(2).add(3);
        check(inv.total() == 5.0, "total() of 2 + 3");
        check(Math.abs(inv.totalWithTax(0.1) - 5.5) < 1e-9, "totalWithTax");
        check(inv.summary().equals("2 lines, 5.0"), "summary: " + inv.summary());
        String src = new String(Files.readAllBytes(Paths.get("Invoice.java")));
        check(!src.contains("getTotal"), "getTotal is still in Invoice.java");
        if (failures > 0) {
            System.exit(1);
        }
        System.out.println("all checks passed");
    }
}
