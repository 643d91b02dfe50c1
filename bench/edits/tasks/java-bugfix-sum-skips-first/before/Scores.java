public class Scores {
    public static int sum(int[] values) {
        int total = 0;
        for (int i = 1; i < values.length; i++) {
            total += values[i];
        }
        return total;
    }

    public static double average(int[] values) {
        if (values.length == 0) {
            return 0;
        }
        return (double) sum(values) / values.length;
    }

    public static int best(int[] values) {
        int best = Integer.MIN_VALUE;
        for (int v : values) {
            best = Math.max(best, v);
        }
        return best;
    }
}
