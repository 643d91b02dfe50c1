#include "stats.cpp"

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

static int failures = 0;

#define CHECK(cond)                                                   \
    do {                                                              \
        if (!(cond)) {                                                \
            std::cout << "FAIL line " << __LINE__ << ": " #cond "\n"; \
            ++failures;                                               \
        }                                                             \
    } while (0)

static std::string read_file(const char* path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

int main() {
    CHECK(average({1, 2, 3}) == 2.0);
    CHECK(average({}) == 0.0);
    CHECK(above_avg_share({1, 2, 3, 6}) == 0.25);
    CHECK(read_file("stats.cpp").find("calc_avg") == std::string::npos);
    if (failures == 0) {
        std::cout << "all checks passed\n";
    }
    return failures == 0 ? 0 : 1;
}
