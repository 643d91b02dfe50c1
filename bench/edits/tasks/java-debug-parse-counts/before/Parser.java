import java.util.LinkedHashMap;
import java.util.Map;

public class Parser {
    public static Map<String, Integer> parseCounts(String text) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            String trimmed = line.trim();
            if (trimmed.isEmpty()) {
                continue;
            }
            String[] parts = trimmed.split(":");
            System.out.println("parsed " + parts[0]);
            counts.put(parts[0].trim(), Integer.parseInt(parts[1].trim()));
        }
        return counts;
    }
}
