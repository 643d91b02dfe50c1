import java.util.ArrayList;
import java.util.List;

public class Names {
    public static List<String> initials(List<String> names) {
        List<String> out = new ArrayList<>();
        for (String n : names) {
            if (!n.isEmpty()) {
                out.add(n.substring(0, 1).toUpperCase());
            }
        }
        return out;
    }

    public static String joined(List<String> names) {
        return String.join(", ", names);
    }
}
