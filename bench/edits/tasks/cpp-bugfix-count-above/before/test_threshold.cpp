#include "threshold.cpp"

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
    CHECK(count_above({1.0, 2.0, 3.0}, 2.0) == 1);
    CHECK(!any_above({1.0, 2.0}, 2.0));
    CHECK(any_above({1.0, 2.5}, 2.0));
    CHECK(count_above({}, 0.0) == 0);
    if (failures == 0) {
        std::cout << "all checks passed\n";
    }
    return failures == 0 ? 0 : 1;
}
