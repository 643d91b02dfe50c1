import java.util.ArrayList;
import java.util.List;

public class Invoice {
    private final List<Double> amounts = new ArrayList<>();

    public Invoice add(double amount) {
        amounts.add(amount);
        return this;
    }

    public double total() {
        double sum = 0;
        for (double a : amounts) {
            sum += a;
        }
        return sum;
    }

    public double totalWithTax(double rate) {
        return total() * (1 + rate);
    }

    public String summary() {
        return amounts.size() + " lines, " + total();
    }
}
