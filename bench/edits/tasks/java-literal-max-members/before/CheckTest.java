public class CheckTest {
    private static int failures = 0;

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAIL: " + what);
            failures++;
        }
    }

    public static void main(String[] args) throws Exception {
        Team team = new Team();
        for (int i = 0; i < 12; i++) {
            check(team.join("m" + i), "member " + (i + 1) + " may join");
        }
        check(!team.join("late"), "a 13th member is refused");
        check(team.size() == 12, "size is 12");
        Team t2 = new Team();
        t2.join("a");
        check(!t2.join("a"), "no duplicates");
        if (failures > 0) {
            System.exit(1);
        }
        System.out.println("all checks passed");
    }
}
