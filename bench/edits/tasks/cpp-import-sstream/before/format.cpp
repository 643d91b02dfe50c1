#include <string>
#include <vector>

std::string join_ints(const std::vector<int>& xs, const std::string& sep) {
    std::ostringstream out;
    for (std::size_t i = 0; i < xs.size(); ++i) {
        if (i > 0) {
            out << sep;
        }
        out << xs[i];
    }
    return out.str();
}

std::string bracketed(const std::vector<int>& xs) {
    return "[" + join_ints(xs, ", ") + "]";
}
