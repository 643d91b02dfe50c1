public class CheckTest {
    private static int failures = 0;

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAIL: " + what);
            failures++;
        }
    }

    public static void main(String[] args) throws Exception {
        check(Scores.sum(new int[] {4, 5, 6}) == 15, "sum of 4, 5, 6 is 15");
        check(Scores.sum(new int[] {7}) == 7, "sum of one value");
        check(Scores.sum(new int[] {}) == 0, "sum of none");
        check(Scores.average(new int[] {2, 4}) == 3.0, "average");
        check(Scores.best(new int[] {2, 9, 4}) == 9, "best");
        if (failures > 0) {
            System.exit(1);
        }
        System.out.println("all checks passed");
    }
}
