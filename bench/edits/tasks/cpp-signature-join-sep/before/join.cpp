#include <string>
#include <vector>

std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) {
            out += ",";
        }
        out += parts[i];
    }
    return out;
}

std::string csv_row(const std::vector<std::string>& cells) {
    return join(cells) + "\n";
}
